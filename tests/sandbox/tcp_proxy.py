"""A TCP-to-unix-socket forwarder on 127.0.0.1: the local engine seen as a remote ``tcp://`` one."""

from __future__ import annotations

import contextlib
import re
import socket
import threading

# The start of an HTTP request line of the engine's API (what a client sends first on a connection
# or after the previous response; a hijacked attach stream carries the program's bytes instead).
_REQUEST = re.compile(rb"^(GET|POST|PUT|DELETE|HEAD) (/\S*) HTTP/1\.[01]\r\n")


class TcpToUnix:
    """Forwards every connection on 127.0.0.1:<port> to the unix socket ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        #: ``METHOD path`` of every API request seen, in order (as ``str``).
        self.requests: list[str] = []
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.path)
            with self._lock:
                self.connections += 1
                self._socks += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, requests: bool = False) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                match = _REQUEST.match(data) if requests else None
                if match is not None:
                    with self._lock:
                        self.requests.append(f"{match[1].decode()} {match[2].decode()}")
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.server.close()
        self._thread.join(5)
        with self._lock:
            for sock in self._socks:
                sock.close()
