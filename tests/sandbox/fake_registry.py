"""A Docker Registry HTTP API v2 server on 127.0.0.1, serving one image made from a local one.

dockerd treats ``127.0.0.0/8`` as insecure registries, so ``127.0.0.1:PORT/name:tag`` pulls over
plain HTTP from this server: the real pull path of the engine, with no registry on the internet.

Only what a pull needs is served: ``GET /v2/``, ``GET``/``HEAD`` of a schema2 manifest and of blobs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_V1 = "application/vnd.docker.container.image.v1+json"
LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
_CHUNK = 64 * 1024


@dataclass
class SavedImage:
    """An image read from a ``docker save`` tar: its config and its layers, gzipped once."""

    config: dict[str, Any]
    layers: list[bytes]  # gzip streams of the layer tars, in order

    @classmethod
    def from_tar(cls, path: Path) -> SavedImage:
        """Read the first image of the ``docker save`` archive at ``path``."""
        with tarfile.open(path) as tar:
            manifest = json.loads(_member(tar, "manifest.json"))[0]
            config = json.loads(_member(tar, manifest["Config"]))
            # Level 1: a 160 MB layer compresses in a few seconds; the ratio does not matter here.
            layers = [
                gzip.compress(_member(tar, name), compresslevel=1, mtime=0) for name in manifest["Layers"]
            ]
        return cls(config, layers)


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    f = tar.extractfile(name)
    if f is None:
        raise ValueError(f"{name} is not a file in the saved image")
    with f:
        return f.read()


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


class FakeRegistry:
    """Serves ``image`` as ``<name>:<tag>`` on ``127.0.0.1:<port>`` until :meth:`close`.

    Every instance serves blobs no engine has seen: the config gets a unique label (else the engine
    finds the image id locally and skips the pull) and each layer a unique empty gzip member in front
    (else the engine remembers the layer digest from an earlier pull and answers "Already exists").
    A multi-member gzip stream decompresses to the same tar, so the layer diff ids stay valid.

    Args:
        image: What to serve.
        name: Repository name, e.g. ``fame-test/python``.
        tag: The one tag served; any other answers 404 ``MANIFEST_UNKNOWN``.
        rate: Bytes per second per blob download (``None``: as fast as possible), to make a pull
            last long enough to watch its progress or cancel it.
    """

    def __init__(self, image: SavedImage, name: str, tag: str, rate: float | None = None) -> None:
        self.name, self.tag, self.rate = name, tag, rate
        unique = uuid.uuid4().hex
        config = json.loads(json.dumps(image.config))
        labels = config.setdefault("config", {}).get("Labels") or {}
        config["config"]["Labels"] = {**labels, "fame.test.registry": unique}
        config_blob = json.dumps(config, separators=(",", ":")).encode()
        layers = [_unique_member(unique, i) + layer for i, layer in enumerate(image.layers)]
        self.blobs: dict[str, bytes] = {_digest(b): b for b in [config_blob, *layers]}
        self.manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_V2,
                "config": {"mediaType": CONFIG_V1, "size": len(config_blob), "digest": _digest(config_blob)},
                "layers": [{"mediaType": LAYER_GZIP, "size": len(b), "digest": _digest(b)} for b in layers],
            },
            indent=2,
        ).encode()
        self.requests: list[str] = []
        self.total_bytes = sum(len(b) for b in layers)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a throttled download of a cancelled pull may still run
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-registry", daemon=True)
        self._thread.start()

    @property
    def reference(self) -> str:
        """``127.0.0.1:<port>/<name>:<tag>``: what to pull."""
        return f"127.0.0.1:{self.port}/{self.name}:{self.tag}"

    def close(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: one request per connection, so no handler thread waits on an idle keep-alive.
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                registry.requests.append(f"{self.command} {self.path}")
                path = self.path.split("?", 1)[0]
                if path in ("/v2", "/v2/"):
                    self._send(200, b"{}", "application/json", body)
                    return
                prefix = f"/v2/{registry.name}/"
                if path == f"{prefix}manifests/{registry.tag}" or (
                    path.startswith(f"{prefix}manifests/sha256:")
                    and path.rsplit("/", 1)[1] == _digest(registry.manifest)
                ):
                    self._send(200, registry.manifest, MANIFEST_V2, body, _digest(registry.manifest))
                    return
                if path.startswith(f"{prefix}blobs/"):
                    blob = registry.blobs.get(path.rsplit("/", 1)[1])
                    if blob is not None:
                        self._send(200, blob, "application/octet-stream", body, _digest(blob))
                        return
                    self._error("BLOB_UNKNOWN", "blob unknown to registry", body)
                    return
                self._error("MANIFEST_UNKNOWN", "manifest unknown", body)

            def _error(self, code: str, message: str, body: bool) -> None:
                payload = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
                self._send(404, payload, "application/json", body)

            def _send(self, status: int, data: bytes, kind: str, body: bool, digest: str = "") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                if digest:
                    self.send_header("Docker-Content-Digest", digest)
                self.end_headers()
                if not body:
                    return
                try:
                    if registry.rate is None:
                        self.wfile.write(data)
                        return
                    for start in range(0, len(data), _CHUNK):
                        self.wfile.write(data[start : start + _CHUNK])
                        time.sleep(_CHUNK / registry.rate)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the engine gave up (a cancelled pull)

        return Handler


def _unique_member(unique: str, index: int) -> bytes:
    """An empty gzip member whose header names ``unique``: changes the digest, not the content."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename=f"{unique}-{index}", mode="wb", fileobj=buf, mtime=0):
        pass
    return buf.getvalue()
