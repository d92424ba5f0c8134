"""A real HTTP server on 127.0.0.1 for plugin tests: routes answer like the upstream service would.

Each route is a function ``(query: dict[str, str], path_match) -> Reply``; ``FakeServer.force``
makes every request answer with an error status or stall, to test rate limits, 5xx and timeouts.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    """What a route answers."""

    status: int = 200
    body: bytes | str | Any = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


Route = Callable[[dict[str, str], "re.Match[str]"], Reply]


@dataclass
class Forced:
    """Overrides every route while set."""

    status: int | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class FakeServer:
    """A threaded HTTP server with regex routes; ``url`` is its base URL."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = [(re.compile(rx), fn) for rx, fn in routes.items()]
        self.requests: list[str] = []
        self.forced = Forced()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                reply = server.dispatch(self.path)
                if server.forced.delay:
                    time.sleep(server.forced.delay)
                data = reply.payload()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def dispatch(self, raw_path: str) -> Reply:
        parts = urlsplit(raw_path)
        query = dict(parse_qsl(parts.query))
        if self.forced.status is not None:
            body = self.forced.body if self.forced.body is not None else {"error": "forced"}
            return Reply(self.forced.status, body, headers=dict(self.forced.headers))
        for rx, fn in self.routes:
            m = rx.fullmatch(parts.path)
            if m:
                return fn(query, m)
        return Reply(404, {"error": "Not Found"})

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[FakeServer]:
    """Run a :class:`FakeServer` for the duration of a ``with`` block."""
    server = FakeServer(routes).start()
    try:
        yield server
    finally:
        server.stop()
