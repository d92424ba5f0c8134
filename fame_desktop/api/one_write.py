"""uvicorn's HTTP protocol with each answer written to the socket once, not once per ASGI message.

uvicorn writes an answer's status line and headers when the application sends
``http.response.start`` and its body when it sends ``http.response.body``: two ``send`` system
calls, two TCP segments and two wake-ups of the client for a small JSON answer. The transport
below holds what is written during one turn of the event loop and writes it in one call at the
end of that turn (``call_soon``), so an answer's parts leave together without waiting for
anything: the turn is already running.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _OneWriteTransport:
    """A transport that writes what it was given during one loop turn in one call.

    Everything but ``write`` and ``close`` goes to the real transport (flow control, peer
    addresses, ``is_closing``).
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` for the end of this loop turn."""
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        """Write what is queued, then close (the real transport sends its buffer before closing)."""
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing each answer at once (see the module docstring)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Requests read from here on get the coalescing transport (RequestResponseCycle takes
        # self.transport); flow control keeps the real one, which pauses and resumes reading.
        self.transport = _OneWriteTransport(transport, self.loop)  # type: ignore[assignment]
