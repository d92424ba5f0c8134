"""Choosing the language model from the settings: the local GGUF model or the endpoint.

``llm.backend``:

* ``auto`` (default): the local model when ``llm.local_model`` names a file in the data dir's
  ``llm_models`` folder, else the OpenAI-compatible endpoint when one is configured;
* ``local``: only the local model; ``openai``: only the endpoint.

The settings are read at every use (they change while the app runs); loaded local models stay in
the one :class:`~fame_desktop.orchestrator.llm.local_models.LocalModels` cache the composition
root builds, so choosing the provider again costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fame_desktop.orchestrator.events import Event
from fame_desktop.orchestrator.llm.base import LlmProvider
from fame_desktop.orchestrator.llm.local_models import GET_MODEL_HINT, LocalModels, LocalModelSpec
from fame_desktop.orchestrator.secrets import LLM_API_KEY, SecretStore
from fame_desktop.orchestrator.settings import SettingsStore

if TYPE_CHECKING:
    from fame_desktop.orchestrator.llm.provider import ChatProvider

# The providers' modules (HTTP streaming, llama.cpp glue) are imported when the settings name a
# model: the composition root builds an LlmSource for every command, most never ask a model.

NO_MODEL_HINT = (
    "No language model is set up. " + GET_MODEL_HINT + " Or point Settings → LLM at an "
    "OpenAI-compatible endpoint (Ollama, LM Studio, vLLM)."
)


def endpoint_provider(
    settings: SettingsStore, secrets: SecretStore, publish: Callable[[Event], None]
) -> ChatProvider | None:
    """The OpenAI-compatible provider the settings describe, or None when no endpoint or model is set."""
    llm = settings.settings.llm
    if not llm.base_url.strip() or not llm.model.strip():
        return None
    from fame_desktop.orchestrator.llm.provider import ChatProvider, LlmConfig  # see the imports

    config = LlmConfig(
        base_url=settings.url_with_credentials("llm.base_url").strip(),
        model=llm.model.strip(),
        api_key=secrets.get(LLM_API_KEY) or "",
        timeout_seconds=float(llm.timeout_seconds),
    )
    return ChatProvider(
        config,
        allow_network=lambda: bool(settings.settings.network.allow_network),
        publish=publish,
    )


def local_model_path(settings: SettingsStore, models_dir: Path) -> Path | None:
    """The active local model's file, when ``llm.local_model`` names one that exists."""
    name = settings.settings.llm.local_model.strip()
    if not name:
        return None
    path = models_dir / Path(name).name  # a file name, never a path out of the folder
    return path if path.is_file() else None


def local_spec(settings: SettingsStore, path: Path) -> LocalModelSpec:
    """How to load ``path``, from the settings."""
    llm = settings.settings.llm
    return LocalModelSpec(
        path=path,
        context_size=int(llm.context_size),
        threads=int(llm.threads),
        gpu_layers=int(llm.gpu_layers),
    )


def provider_from_settings(
    settings: SettingsStore,
    secrets: SecretStore,
    publish: Callable[[Event], None],
    *,
    models_dir: Path | None = None,
    local_models: LocalModels | None = None,
) -> LlmProvider | None:
    """The provider ``llm.backend`` selects, or None when it has no model.

    Args:
        settings: The settings (read now).
        secrets: Holds the endpoint's API key.
        publish: Where providers publish their tokens.
        models_dir: The data dir's ``llm_models`` folder (None: no local models).
        local_models: The shared cache of loaded local models (None: no local models).
    """
    backend = settings.settings.llm.backend
    if backend != "openai" and models_dir is not None and local_models is not None:
        path = local_model_path(settings, models_dir)
        if path is not None:
            from fame_desktop.orchestrator.llm.local_provider import LocalProvider  # see the imports

            return LocalProvider(local_spec(settings, path), local_models, publish=publish)
    if backend == "local":
        return None
    return endpoint_provider(settings, secrets, publish)


class LlmSource:
    """The current provider, chosen from the settings at every call (``Callable[[], LlmProvider | None]``).

    Built once by the composition root; it owns the cache of loaded local models.

    Args:
        settings: The settings.
        secrets: Holds the endpoint's API key.
        publish: Where providers publish their tokens.
        models_dir: The data dir's ``llm_models`` folder.
    """

    def __init__(
        self,
        settings: SettingsStore,
        secrets: SecretStore,
        publish: Callable[[Event], None],
        models_dir: Path,
    ) -> None:
        self.settings = settings
        self.models_dir = models_dir
        self.local_models = LocalModels()
        self._secrets = secrets
        self._publish = publish

    def __call__(self) -> LlmProvider | None:
        """The provider the settings select now (None: no model is set up)."""
        return provider_from_settings(
            self.settings,
            self._secrets,
            self._publish,
            models_dir=self.models_dir,
            local_models=self.local_models,
        )

    def status(self) -> dict[str, Any]:
        """Which model answers: ``backend``, ``model``, ``name`` and ``loaded`` (or a ``hint`` when none)."""
        provider = self()
        if provider is None:
            llm = self.settings.settings.llm
            hint = NO_MODEL_HINT
            if llm.local_model.strip():
                hint = (
                    f"The local model {llm.local_model} is not installed in {self.models_dir}. "
                    + GET_MODEL_HINT
                )
            return {"backend": None, "model": None, "name": None, "loaded": False, "hint": hint}
        from fame_desktop.orchestrator.llm.local_provider import BACKEND as LOCAL_BACKEND
        from fame_desktop.orchestrator.llm.local_provider import LocalProvider  # a model is set up

        loaded = False
        if provider.backend == LOCAL_BACKEND and isinstance(provider, LocalProvider):
            loaded = any(m.spec.key == provider.spec.key for m in self.local_models.loaded())
        return {"backend": provider.backend, "model": provider.model, "name": provider.name, "loaded": loaded}

    def close(self) -> None:
        """Release the loaded local models."""
        self.local_models.close()


def provider_source(
    settings: SettingsStore,
    secrets: SecretStore,
    publish: Callable[[Event], None],
    models_dir: Path | None = None,
) -> Callable[[], LlmProvider | None]:
    """A callable that returns the current provider (settings may change while the app runs).

    With ``models_dir`` it is an :class:`LlmSource` (local models too); without, endpoints only.
    """
    if models_dir is not None:
        return LlmSource(settings, secrets, publish, models_dir)
    return lambda: provider_from_settings(settings, secrets, publish)
