"""A TCP-to-unix-socket forwarder on 127.0.0.1: the local engine seen as a remote ``tcp://`` one."""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpToUnix:
    """Forwards every connection on 127.0.0.1:<port> to the unix socket ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
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
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.server.close()
        self._thread.join(5)
        with self._lock:
            for sock in self._socks:
                sock.close()
