"""The contract every language-model backend keeps (the in-process llama.cpp model and HTTP endpoints).

Callers (chat, code generation, repair, evolution, routing) depend on :class:`LlmProvider` only, so
the backend is a setting: a local GGUF model when one is installed, an OpenAI-compatible endpoint
otherwise. Every backend publishes :class:`~fame_desktop.orchestrator.llm.events.LlmToken` events
while it streams and one :class:`~fame_desktop.orchestrator.llm.events.LlmStreamEnded` at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]

#: JSON Schema (draft 2020-12 subset that llama.cpp's grammar converter and OpenAI's
#: ``response_format`` both accept): the model's whole output must be one such JSON value.
JsonSchema = Mapping[str, Any]


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat completion request."""

    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        """The wire form."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Completion:
    """A finished (or stopped) completion.

    Attributes:
        text: Everything the model sent.
        reason: ``stop``, ``length`` or ``cancelled``.
        tokens: Number of streamed pieces.
        duration_s: Wall time of the request.
        first_token_s: Time to the first piece (None when none arrived).
        stream_id: Identifies the completion in :class:`LlmToken` events.
        prompt_tokens: Tokens of the prompt as the backend counted them (0 when it did not say).
        completion_tokens: Tokens generated (the backend's count, else ``tokens``).
        backend: Which backend wrote it (``llama.cpp`` or ``openai``).
        model: The model's name as shown to people.
    """

    text: str
    reason: str
    tokens: int
    duration_s: float
    first_token_s: float | None
    stream_id: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    backend: str = ""
    model: str = ""

    @property
    def tokens_per_second(self) -> float:
        """Generation speed after the first token (0 when it cannot be measured)."""
        if self.first_token_s is None or self.duration_s <= self.first_token_s:
            return 0.0
        count = self.completion_tokens or self.tokens
        return max(count - 1, 0) / (self.duration_s - self.first_token_s)


@runtime_checkable
class LlmProvider(Protocol):
    """A language model that streams chat completions.

    Implementations: :class:`~fame_desktop.orchestrator.llm.provider.ChatProvider` (OpenAI-compatible
    HTTP) and the in-process llama.cpp backend.
    """

    @property
    def name(self) -> str:
        """``model @ host`` or ``model (local)``: shown under answers and in the status bar."""
        ...

    @property
    def backend(self) -> str:
        """``llama.cpp`` or ``openai`` (recorded in each answer's data)."""
        ...

    @property
    def model(self) -> str:
        """The model's name."""
        ...

    @property
    def context_size(self) -> int | None:
        """Tokens the model can attend to (None when unknown: callers then keep prompts short)."""
        ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.2,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
        json_schema: JsonSchema | None = None,
        query_id: str | None = None,
        cancel: asyncio.Event | None = None,
        stream_id: str | None = None,
    ) -> AsyncIterator[str]:
        """Yield the model's text piece by piece; stops quietly when ``cancel`` is set.

        ``stop`` ends generation before any of its strings; ``json_schema`` constrains the whole
        output to JSON matching it (so parsing cannot fail unless the output was cut off).

        Raises:
            LlmError: The backend failed (its subclasses say how: timeout, unavailable).
        """
        ...

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.2,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
        json_schema: JsonSchema | None = None,
        query_id: str | None = None,
        cancel: asyncio.Event | None = None,
    ) -> Completion:
        """Stream a whole completion and return it (tokens are published as they arrive).

        Raises:
            LlmError: As :meth:`stream`.
        """
        ...


async def gather_pieces(pieces: AsyncIterator[str], started: float) -> tuple[list[str], float | None]:
    """Read a whole stream: its pieces and the time from ``started`` to the first one.

    The stream is closed however this ends, so a backend's clean-up (``finally``) runs at once.
    """
    parts: list[str] = []
    first: float | None = None
    async with contextlib.aclosing(pieces):  # type: ignore[type-var]
        async for piece in pieces:
            if first is None:
                first = time.perf_counter() - started
            parts.append(piece)
    return parts, first
