"""LLM backends behind one contract (:class:`LlmProvider`): an OpenAI-compatible streaming chat provider and the API key's storage."""

from __future__ import annotations

from fame_desktop.orchestrator.llm.base import ChatMessage, Completion, JsonSchema, LlmProvider
from fame_desktop.orchestrator.llm.errors import LlmError, LlmTimeout, LlmUnavailable
from fame_desktop.orchestrator.llm.events import LlmStreamEnded, LlmToken
from fame_desktop.orchestrator.llm.provider import (
    ChatProvider,
    LlmConfig,
    check_endpoint,
    is_loopback,
)
from fame_desktop.orchestrator.secrets import LLM_API_KEY, SecretStore

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
