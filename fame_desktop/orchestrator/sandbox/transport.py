"""The Docker SDK's unix-socket transport, minus its socket leak.

docker-py's ``UnixHTTPConnection.connect`` opens a socket and never closes it when the connect
fails: every call to an engine that died leaks one (a ``ResourceWarning`` each, and file
descriptors until the garbage collector runs). When the engine stops mid-run the app makes several
such calls, so the client's unix adapter is swapped for one that closes the socket on failure.
"""

from __future__ import annotations

import socket
from typing import Any

from docker.transport.unixconn import UnixHTTPAdapter, UnixHTTPConnection, UnixHTTPConnectionPool

_PREFIX = "http+docker://"


class _ClosingUnixConnection(UnixHTTPConnection):  # type: ignore[misc]
    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.unix_socket)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class _ClosingUnixPool(UnixHTTPConnectionPool):  # type: ignore[misc]
    def _new_conn(self) -> _ClosingUnixConnection:
        return _ClosingUnixConnection(self.base_url, self.socket_path, self.timeout)


class _ClosingUnixAdapter(UnixHTTPAdapter):  # type: ignore[misc]
    def get_connection(self, url: Any, proxies: Any = None) -> _ClosingUnixPool:
        with self.pools.lock:
            pool = self.pools.get(url)
            if pool is None:
                pool = _ClosingUnixPool(url, self.socket_path, self.timeout, maxsize=self.max_pool_size)
                self.pools[url] = pool
            return pool  # type: ignore[no-any-return]


def fix_unix_transport(api: Any) -> None:
    """Swap the unix adapter of a new, unused ``APIClient`` for the one that closes its sockets."""
    adapter = api.adapters.get(_PREFIX)
    if isinstance(adapter, UnixHTTPAdapter) and not isinstance(adapter, _ClosingUnixAdapter):
        api.mount(
            _PREFIX,
            _ClosingUnixAdapter(adapter.socket_path, adapter.timeout, max_pool_size=adapter.max_pool_size),
        )
        adapter.close()
