"""Reading the Server-Sent Events of an OpenAI-compatible streaming completion."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fame_desktop.orchestrator.llm.errors import LlmError

DONE = "[DONE]"


@dataclass(frozen=True)
class Delta:
    """One parsed ``data:`` event: new text and, on the last chunk, why the model stopped."""

    text: str
    finish_reason: str | None = None


class SseDecoder:
    """Turns the lines of an SSE body into ``data`` payloads (multi-line data joined by ``\\n``)."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        """Feed one line (without its newline); returns a complete event's data at a blank line."""
        if line == "":
            if not self._data:
                return None
            data = "\n".join(self._data)
            self._data = []
            return data
        if line.startswith(":"):
            return None  # comment / keep-alive
        field, _, value = line.partition(":")
        if field == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None

    def flush(self) -> str | None:
        """Data of an event the stream ended without a blank line after."""
        return self.feed("")


def parse_chunk(data: str) -> Delta:
    """Parse one ``chat.completion.chunk`` JSON payload.

    Raises:
        LlmError: The payload is not JSON, or carries an ``error`` object.
    """
    try:
        obj: Any = json.loads(data)
    except ValueError as exc:
        raise LlmError(
            f"The LLM endpoint sent a stream event that is not JSON: {data[:120]!r}.",
            "Check that llm.base_url points at an OpenAI-compatible /v1 endpoint.",
        ) from exc
    if not isinstance(obj, dict):
        raise LlmError(f"The LLM endpoint sent an unexpected stream event: {data[:120]!r}.")
    if "error" in obj:
        raise LlmError(f"The LLM endpoint reported an error mid-stream: {error_message(obj)}.")
    choices = obj.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return Delta("")
    choice = choices[0]
    delta = choice.get("delta") or {}
    text = delta.get("content") if isinstance(delta, dict) else None
    reason = choice.get("finish_reason")
    return Delta(text if isinstance(text, str) else "", reason if isinstance(reason, str) else None)


def error_message(body: object) -> str:
    """The human message of an OpenAI-style error body (``{"error": {"message": ...}}``)."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("detail") or err.get("type")
            if msg:
                return str(msg)[:500]
        elif isinstance(err, str):
            return err[:500]
        detail = body.get("detail")
        if detail:
            return str(detail)[:500]
    return str(body)[:500]
