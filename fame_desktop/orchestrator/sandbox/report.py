"""The capped, streaming collector of one output stream (and the run report it fills)."""

from __future__ import annotations

import codecs
from collections.abc import Callable

from fame_desktop.orchestrator.run_report import STATUSES, RunReport

# RunReport lives in the leaf module the events import too; imported from here as before.
__all__ = ["STATUSES", "RunReport", "StreamCollector"]


class StreamCollector:
    """Keeps the first ``limit`` bytes of a stream and hands decoded text to ``emit`` as it comes.

    Memory stays bounded whatever the program prints: bytes past the limit are counted and
    dropped, and the stream is flagged truncated. Invalid UTF-8 becomes U+FFFD.
    """

    def __init__(self, name: str, limit: int, emit: Callable[[str, str], None] | None = None) -> None:
        self.name = name
        self.limit = limit
        self.total_bytes = 0
        self.truncated = False
        self._kept = bytearray()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._emit = emit
        self._pending: list[str] = []

    def feed(self, data: bytes) -> None:
        """Add bytes that the program wrote."""
        self.total_bytes += len(data)
        room = self.limit - len(self._kept)
        if room <= 0:
            self.truncated = True
            return
        if len(data) > room:
            data = data[:room]
            self.truncated = True
        self._kept += data
        text = self._decoder.decode(data)
        if text:
            self._pending.append(text)

    def flush(self) -> None:
        """Emit what arrived since the last flush as one chunk."""
        if self._pending and self._emit is not None:
            self._emit(self.name, "".join(self._pending))
        self._pending.clear()

    def finish(self) -> str:
        """Flush the decoder's tail and return the kept text."""
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._pending.append(tail)
        self.flush()
        return bytes(self._kept).decode("utf-8", errors="replace")
