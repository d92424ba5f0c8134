"""A second, private Docker engine beside the shared one: its own socket, dirs and bridge.

Tests that kill an engine mid-run use this one, never the shared engine other tests and
benchmarks run on.

Why a bridge of its own: ``dockerd --bridge=none`` deletes the host's ``docker0`` interface at
start-up (moby's ``removeDefaultBridgeInterface``), which breaks the shared engine's default
network. Instead this engine gets a private bridge (made here, removed at :meth:`close`), and
``--iptables=false --ip-masq=false --ip-forward=false`` keep it off the host's firewall and sysctls.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import IO


class SecondEngine:
    """A ``dockerd`` under ``root`` (keep ``root`` short: the socket path has a 108-byte limit).

    Args:
        root: An empty folder that this object owns and removes at :meth:`close`.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sock = root / "d.sock"
        self.bridge = f"fd2b{uuid.uuid4().hex[:8]}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._bridge_made = False

    @property
    def url(self) -> str:
        """The engine's ``unix://`` address."""
        return f"unix://{self.sock}"

    @property
    def running(self) -> bool:
        """Whether this engine's dockerd process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, within: float = 30.0) -> None:
        """Start dockerd (again, on the same dirs) and wait until it answers."""
        if self.running:
            return
        self._wait_containerd_gone()
        self._make_bridge()
        (self.root / "data").mkdir(exist_ok=True)
        (self.root / "exec").mkdir(exist_ok=True)
        self._log = open(self.root / "dockerd.log", "ab")  # noqa: SIM115 - closed when dockerd ends
        self._proc = subprocess.Popen(
            [
                "dockerd", "--host", self.url, "--data-root", str(self.root / "data"),
                "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "d.pid"),
                f"--bridge={self.bridge}", "--iptables=false", "--ip-masq=false", "--ip-forward=false",
            ],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + within
        while not self.ping():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self._reap()
                raise RuntimeError(f"the second dockerd did not start:\n{self.log_tail()}")
            time.sleep(0.2)

    def ping(self) -> bool:
        """Whether the engine answers ``GET /_ping``."""
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(2)
            try:
                conn.connect(str(self.sock))
                conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                return b"\r\n\r\nOK" in conn.recv(4096)
            except OSError:
                return False

    def load(self, image: str) -> None:
        """Copy ``image`` from the shared engine: ``docker save | docker -H <this> load``."""
        subprocess.run(
            ["bash", "-o", "pipefail", "-c", f"docker save {image} | docker -H {self.url} load"],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL dockerd: the engine vanishes mid-whatever (its containers' shims stay behind)."""
        if self._proc is not None and self.running:
            os.kill(self._proc.pid, signal.SIGKILL)
        self._reap()

    def stop(self) -> None:
        """Stop dockerd cleanly (SIGTERM, then SIGKILL after 20 s)."""
        if self._proc is not None and self.running:
            self._proc.terminate()
            try:
                self._proc.wait(20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._reap()

    def log_tail(self, lines: int = 20) -> str:
        """The end of dockerd's log."""
        path = self.root / "dockerd.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        """Stop everything this engine started and remove its bridge and folder."""
        if not self.running and self._own_pids():
            # Killed with containers still running under their shims: a restart kills them
            # (no live-restore), then a clean stop ends the engine and its containerd.
            with contextlib.suppress(Exception):
                self.start()
        self.stop()
        for pid in self._own_pids():  # whatever is still left under our exec root, by pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for mount in sorted(self._mounts(), key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
        if self._bridge_made:
            subprocess.run(["ip", "link", "del", self.bridge], check=False, capture_output=True)
            self._bridge_made = False
        shutil.rmtree(self.root, ignore_errors=True)

    def _make_bridge(self) -> None:
        if self._bridge_made:
            return
        used = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True).stdout
        subnet = next(f"10.254.{n}" for n in random.sample(range(1, 255), 254) if f"10.254.{n}." not in used)
        for cmd in (
            ["ip", "link", "add", self.bridge, "type", "bridge"],
            ["ip", "addr", "add", f"{subnet}.1/24", "dev", self.bridge],
            ["ip", "link", "set", self.bridge, "up"],
        ):
            subprocess.run(cmd, check=True, capture_output=True)
            self._bridge_made = True

    def _wait_containerd_gone(self, within: float = 15.0) -> None:
        """Wait until the containerd of a killed dockerd has left the process table.

        It dies with dockerd, but stays a zombie until init reaps it (about a second here); a
        dockerd started meanwhile sees its pid file and waits for it in vain.
        """
        pidfile = self.root / "exec" / "containerd" / "containerd.pid"
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        deadline = time.monotonic() + within
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def _reap(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _own_pids(self) -> list[int]:
        """Processes whose command line names our root: dockerd, its containerd and the shims."""
        mine = str(self.root).encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if mine in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
        return pids

    def _mounts(self) -> list[str]:
        with open("/proc/self/mounts", encoding="utf-8") as f:
            points = [line.split()[1] for line in f]
        return [p for p in points if p == str(self.root) or p.startswith(f"{self.root}/")]
