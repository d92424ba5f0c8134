"""The Docker engine connection: client, cached availability probe, labels, reaping leftovers."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
from dataclasses import dataclass
from typing import Any

from fame_desktop.orchestrator.sandbox.fix_hints import engine_fix, image_fix

log = logging.getLogger("fame.sandbox")

LABEL = "fame.sandbox"
OWNER_LABEL = "fame.sandbox.owner"
# Seconds any one engine call may take: a remote engine that stalls must not hang the app.
API_TIMEOUT_S = 30
# A fixed API version (Docker 20.10's; newer engines accept it): "auto" would connect inside the
# SDK's constructor, and a failed constructor leaks its socket.
API_VERSION = "1.41"


def _process_start(pid: int) -> str:
    """The kernel's start time of ``pid`` (so a reused pid is not mistaken for its owner)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def owner_id() -> str:
    """This process's owner label: ``host:pid:start``."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid)}"


def owner_alive(owner: str) -> bool:
    """Whether the process named by an owner label still runs (other hosts count as alive)."""
    try:
        host, pid_text, start = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not start or _process_start(pid) in ("", start)


@dataclass
class EngineState:
    """The last probe of the engine."""

    available: bool
    detail: str
    version: str = ""
    image_present: bool = False
    #: The engine's host name (``docker info``'s Name): the node a local run ran on.
    name: str = ""


class Engine:
    """Owns the Docker client; ``probe`` is blocking and meant for worker threads.

    Args:
        docker_host: Engine URL (``unix://``, ``tcp://`` with TLS from the environment, ``ssh://``);
            empty means ``DOCKER_HOST`` or the local socket.
        image: The sandbox image to look for.
    """

    def __init__(self, docker_host: str, image: str) -> None:
        self.docker_host = docker_host
        self.image = image
        self._client: Any = None
        self._lock = threading.Lock()
        self._closed = False
        self.state = EngineState(False, "Docker not probed yet.")

    @property
    def where(self) -> str:
        """The engine address as a person reads it."""
        return self.docker_host or os.environ.get("DOCKER_HOST") or "the local Docker socket"

    def api(self) -> Any:
        """The low-level ``APIClient`` (connects on first use).

        Raises:
            docker.errors.DockerException: The engine cannot be reached.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the sandbox is closed")
            if self._client is None:
                self._client = self.new_client()
            return self._client.api

    def new_client(self) -> Any:
        """A new, checked ``DockerClient`` of this engine, owned (and closed) by the caller.

        For long streaming calls (pulls, builds) that must be aborted without touching the shared
        connection the runs use.

        Raises:
            docker.errors.DockerException: The engine cannot be reached.
        """
        self._check_unix_socket()
        client = self._connect()
        try:
            client.api.version()
        except BaseException:
            client.close()
            raise
        return client

    def _check_unix_socket(self) -> None:
        """Fail fast on a local socket nobody answers (the SDK would leak its socket on that error)."""
        url = self.docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        if not url.startswith("unix://"):
            return
        path = url[len("unix://") :]
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            try:
                probe.connect(path)
            except OSError as exc:
                raise ConnectionError(f"cannot connect to {path}: {exc.strerror or exc}") from None

    def _connect(self) -> Any:
        # The Docker SDK (and requests under it) loads on first connect, not at start-up.
        from fame_desktop.orchestrator.sandbox.transport import fix_unix_transport

        client = self._sdk_client()
        fix_unix_transport(client.api)
        return client

    def _sdk_client(self) -> Any:
        import docker  # loaded on first connect, not at start-up

        if self.docker_host:
            tls: Any = False
            if self.docker_host.startswith(("tcp://", "https://")) and os.environ.get("DOCKER_TLS_VERIFY"):
                tls = docker.tls.TLSConfig(
                    client_cert=_cert_pair(), ca_cert=_cert_path("ca.pem"), verify=True
                )
            return docker.DockerClient(
                base_url=self.docker_host,
                version=API_VERSION,
                timeout=API_TIMEOUT_S,
                tls=tls,
                use_ssh_client=bool(shutil.which("ssh")),  # ssh:// via the ssh CLI when present
            )
        return docker.from_env(version=API_VERSION, timeout=API_TIMEOUT_S)

    def probe(self) -> EngineState:
        """Ask the engine whether it runs and has the image; the result is cached in ``state``."""
        try:
            api = self.api()
            version = str(api.version().get("Version", "?"))  # also checks a cached client still works
        except Exception as exc:
            self._drop_client()
            self.state = EngineState(
                False,
                f"Docker is not reachable at {self.where} ({short_error(exc)}). Fix: {engine_fix(str(exc))}",
            )
            return self.state
        try:
            api.inspect_image(self.image)
        except Exception as exc:
            self.state = EngineState(
                False,
                f"The sandbox image {self.image} is missing ({short_error(exc)}). Fix: {image_fix()}",
                version,
            )
            return self.state
        try:
            name = str(api.info().get("Name", ""))
        except Exception as exc:  # the name only labels reports: never a reason to be unavailable
            log.debug("docker info: %s", exc)
            name = ""
        self.state = EngineState(
            True, f"Docker {version} at {self.where}, image {self.image}.", version, True, name
        )
        return self.state

    def reap(self) -> int:
        """Remove labelled containers whose owning process is gone (killed mid-run earlier)."""
        api = self.api()
        removed = 0
        for info in api.containers(all=True, filters={"label": LABEL}):
            owner = (info.get("Labels") or {}).get(OWNER_LABEL, "")
            if owner_alive(owner):
                continue
            try:
                api.remove_container(info["Id"], force=True)
                removed += 1
            except Exception as exc:  # removed by someone else meanwhile
                log.debug("reap %s: %s", info["Id"][:12], exc)
        if removed:
            log.info("reaped %d leftover sandbox container(s)", removed)
        return removed

    def _drop_client(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def close(self) -> None:
        """Close the client; later calls to ``api`` fail."""
        with self._lock:
            self._closed = True
        self._drop_client()


def short_error(exc: BaseException) -> str:
    """The first line of an exception's message (or its type), at most 200 characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _cert_path(name: str) -> str:
    return os.path.join(os.environ.get("DOCKER_CERT_PATH") or os.path.expanduser("~/.docker"), name)


def _cert_pair() -> tuple[str, str]:
    return (_cert_path("cert.pem"), _cert_path("key.pem"))
