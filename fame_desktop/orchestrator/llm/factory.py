"""Building the chat provider from the settings and the secret store (fresh at every use)."""

from __future__ import annotations

from collections.abc import Callable

from fame_desktop.orchestrator.events import Event
from fame_desktop.orchestrator.llm.base import LlmProvider
from fame_desktop.orchestrator.llm.provider import ChatProvider, LlmConfig
from fame_desktop.orchestrator.secrets import LLM_API_KEY, SecretStore
from fame_desktop.orchestrator.settings import SettingsStore


def provider_from_settings(
    settings: SettingsStore, secrets: SecretStore, publish: Callable[[Event], None]
) -> ChatProvider | None:
    """The provider the settings describe, or None when no endpoint or model is configured."""
    llm = settings.settings.llm
    if not llm.base_url.strip() or not llm.model.strip():
        return None
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


def provider_source(
    settings: SettingsStore, secrets: SecretStore, publish: Callable[[Event], None]
) -> Callable[[], LlmProvider | None]:
    """A callable that returns the current provider (settings may change while the app runs)."""
    return lambda: provider_from_settings(settings, secrets, publish)
