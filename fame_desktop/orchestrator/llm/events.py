"""Events of the LLM backends (the chat pane subscribes to stream tokens as they arrive)."""

from __future__ import annotations

from fame_desktop.orchestrator.events import Event, event


@event
class LlmToken(Event):
    """A piece of text the model streamed for a query.

    Attributes:
        query_id: The query the completion belongs to ("" when none).
        stream_id: One completion (a query may ask the model several times: repairs, evolution).
        index: Position of this piece in its completion, from 0.
        text: The new text.
        backend: The backend writing it (``llama.cpp``, ``openai``; "" when it does not say).
        model: The model writing it ("" when the backend does not say).
    """

    query_id: str
    stream_id: str
    index: int
    text: str
    backend: str = ""
    model: str = ""


@event
class LlmStreamEnded(Event):
    """A completion ended; ``reason`` is ``stop``, ``length``, ``cancelled`` or ``error``."""

    query_id: str
    stream_id: str
    reason: str
    tokens: int
    detail: str = ""
