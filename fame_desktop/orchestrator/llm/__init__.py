"""LLM backends behind one contract (:class:`LlmProvider`): an OpenAI-compatible streaming chat provider and the API key's storage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fame_desktop.orchestrator.llm.base import ChatMessage, Completion, JsonSchema, LlmProvider
from fame_desktop.orchestrator.llm.errors import LlmError, LlmTimeout, LlmUnavailable
from fame_desktop.orchestrator.llm.events import LlmStreamEnded, LlmToken
from fame_desktop.orchestrator.secrets import LLM_API_KEY, SecretStore

if TYPE_CHECKING:
    from fame_desktop.orchestrator.llm.provider import (
        ChatProvider,
        LlmConfig,
        check_endpoint,
        is_loopback,
    )

#: Names of the HTTP provider, imported on first use: the contract (base) is needed by every
#: command that builds the app, the provider's streaming HTTP code only when a model is asked.
_PROVIDER_NAMES = frozenset({"ChatProvider", "LlmConfig", "check_endpoint", "is_loopback"})


def __getattr__(name: str) -> object:
    if name in _PROVIDER_NAMES:
        from fame_desktop.orchestrator.llm import provider  # see _PROVIDER_NAMES

        return getattr(provider, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LLM_API_KEY",
    "ChatMessage",
    "ChatProvider",
    "Completion",
    "JsonSchema",
    "LlmConfig",
    "LlmError",
    "LlmProvider",
    "LlmStreamEnded",
    "LlmTimeout",
    "LlmToken",
    "LlmUnavailable",
    "SecretStore",
    "check_endpoint",
    "is_loopback",
]
