"""A model catalogue on 127.0.0.1 for the download tests: serves zips, honours Range, can cut or throttle.

Used by ``tests/voice`` (the downloader) and ``tests/ui`` (the window's model manager) as
``from model_server import ...`` (the tests folder is on ``sys.path`` through its conftest).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MODEL = "vosk-model-tiny-test-0.1"


@dataclass
class Served:
    """What the server serves and what it saw.

    Attributes:
        files: URL path -> body.
        cut_after: Close the connection after this many body bytes (once).
        throttle: Seconds to sleep after each ``chunk`` bytes sent (0: full speed).
        chunk: Bytes per write when throttled.
        ranges: The ``Range`` header of each request (None when absent).
        sent: Body bytes sent per finished request.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: int | None = None
    throttle: float = 0.0
    chunk: int = 16 * 1024
    ranges: list[str | None] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    served: Served

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        data = self.served.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        header = self.headers.get("Range")
        self.served.ranges.append(header)
        start = 0
        if header:
            start = int(header.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.served.cut_after is not None:
            body, self.served.cut_after = body[: self.served.cut_after], None
            self.wfile.write(body)
            self.wfile.flush()
            self.served.sent.append(len(body))
            self.close_connection = True
            return
        if self.served.throttle <= 0:
            self.wfile.write(body)
            self.served.sent.append(len(body))
            return
        sent = 0
        try:
            for i in range(0, len(body), self.served.chunk):
                self.wfile.write(body[i : i + self.served.chunk])
                self.wfile.flush()
                sent += len(body[i : i + self.served.chunk])
                time.sleep(self.served.throttle)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up (a cancelled download)
        finally:
            self.served.sent.append(sent)


@contextlib.contextmanager
def serve() -> Iterator[tuple[str, Served]]:
    """A threaded HTTP server on 127.0.0.1 (free port): yields its base URL and what it serves."""
    served = Served()
    handler = type("Handler", (_Handler,), {"served": served})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def model_zip(tmp_path: Path, size: int = 600_000, name: str = MODEL) -> bytes:
    """A zip shaped like a Vosk model (incompressible bytes, so the archive is ``size``-ish)."""
    path = tmp_path / f"{name}.zip"
    rnd = hashlib.sha256()
    blob = b""
    while len(blob) < size:
        rnd.update(b"x")
        blob += rnd.digest() * 64
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{name}/am/final.mdl", blob[:size])
        zf.writestr(f"{name}/conf/mfcc.conf", "--use-energy=false\n")
        zf.writestr(f"{name}/conf/model.conf", "--beam=10.0\n")
        zf.writestr(f"{name}/graph/HCLG.fst", b"fst" * 100)
        zf.writestr(f"{name}/README", "tiny test model\n")
    return path.read_bytes()
