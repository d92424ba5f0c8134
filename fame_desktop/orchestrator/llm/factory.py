"""Building the chat provider from the settings and the secret store (fresh at every use)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fame_desktop.orchestrator.llm.provider import ChatProvider, LlmConfig
from fame_desktop.orchestrator.llm.secrets import LLM_API_KEY, SecretStore

if TYPE_CHECKING:
    from fame_desktop.orchestrator.services import Services


def provider_from_services(services: Services, secrets: SecretStore | None = None) -> ChatProvider | None:
    """The provider the settings describe, or None when no endpoint or model is configured."""
    llm = services.settings.settings.llm
    if not llm.base_url.strip() or not llm.model.strip():
        return None
    store = secrets or SecretStore(services.paths.secrets)
    config = LlmConfig(
        base_url=services.settings.url_with_credentials("llm.base_url").strip(),
        model=llm.model.strip(),
        api_key=store.get(LLM_API_KEY) or "",
        timeout_seconds=float(llm.timeout_seconds),
    )
    return ChatProvider(
        config,
        allow_network=lambda: bool(services.settings.settings.network.allow_network),
        publish=services.bus.publish,
    )


def provider_source(services: Services) -> Callable[[], ChatProvider | None]:
    """A callable that returns the current provider (settings may change while the app runs)."""
    secrets = SecretStore(services.paths.secrets)
    return lambda: provider_from_services(services, secrets)
