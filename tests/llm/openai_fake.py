"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions streaming protocol.

Each request is answered by a ``responder(body) -> Reply`` the test supplies, so a test can script
normal streams, error responses, a slow first token, a stream cut off mid-way, or answers that
depend on what the client sent (the repair loop). ``GET /v1/models`` lists ``models``; with
``api_key`` set, every request without ``Authorization: Bearer <api_key>`` gets HTTP 401.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """How the server answers one request."""

    text: str = ""
    status: int = 200
    error: dict[str, Any] | None = None
    first_delay: float = 0.0
    delay: float = 0.0
    drop_after: int | None = None
    send_done: bool = True


def pieces(text: str) -> list[str]:
    """Split text the way models stream it: words with their whitespace."""
    return re.findall(r"\S+\s*|\s+", text)


@dataclass
class FakeOpenAI:
    """The server; use as a context manager."""

    responder: Callable[[dict[str, Any]], Reply] = lambda body: Reply("OK")
    models: list[str] = field(default_factory=lambda: ["fake-coder"])
    api_key: str | None = None
    models_status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    model_listings: int = 0
    auth_headers: list[str] = field(default_factory=list)
    disconnects: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _authorised(self) -> bool:
                if fake.api_key is None or self.headers.get("Authorization", "") == f"Bearer {fake.api_key}":
                    return True
                self._json(
                    401, {"error": {"message": "Incorrect API key provided", "type": "invalid_api_key"}}
                )
                return False

            def do_GET(self) -> None:
                fake.auth_headers.append(self.headers.get("Authorization", ""))
                if self.path.rstrip("/") != "/v1/models":
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                fake.model_listings += 1
                if not self._authorised():
                    return
                if fake.models_status >= 400:
                    self._json(fake.models_status, {"error": {"message": "models unavailable"}})
                    return
                data = [{"id": m, "object": "model", "owned_by": "fake"} for m in fake.models]
                self._json(200, {"object": "list", "data": data})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                fake.auth_headers.append(self.headers.get("Authorization", ""))
                if not self._authorised():
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                reply = fake.responder(body)
                if reply.status >= 400:
                    self._json(reply.status, reply.error or {"error": {"message": "failed"}})
                    return
                try:
                    self._stream(body, reply)
                except (BrokenPipeError, ConnectionResetError):
                    fake.disconnects += 1

            def _json(self, status: int, obj: dict[str, Any]) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _chunk(self, payload: str) -> None:
                data = payload.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _event(self, model: str, content: str | None, finish: str | None) -> None:
                delta = {"content": content} if content is not None else {}
                chunk = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                self._chunk(f"data: {json.dumps(chunk)}\n\n")

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                model = str(body.get("model", "fake"))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                time.sleep(reply.first_delay)
                self._chunk(": keep-alive\n\n")
                for i, piece in enumerate(pieces(reply.text)):
                    if reply.drop_after is not None and i >= reply.drop_after:
                        # Cut the connection mid-body: no final chunk, no [DONE].
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    self._event(model, piece, None)
                    time.sleep(reply.delay)
                if reply.send_done:
                    self._event(model, None, "stop")
                    self._chunk("data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
