"""Starts a real ``fame serve`` process on 127.0.0.1 (free port) over a temp data dir, with real keys."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fame_desktop.orchestrator.admin import AdminKeyStore
from fame_desktop.orchestrator.settings import SettingsStore

FAME = str(Path(sys.executable).with_name("fame"))
_URL = re.compile(r"FAME API on (http://127\.0\.0\.1:\d+)")


@dataclass
class Server:
    """A running API server and the key it accepts."""

    url: str
    key: str
    data_dir: Path
    proc: subprocess.Popen[str]
    other_keys: tuple[str, ...] = ()

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client for the server, sending ``key`` (default: the server's key)."""
        headers = {"X-API-Key": key if key is not None else self.key}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def anonymous(self) -> httpx.Client:
        """A client that sends no key."""
        return httpx.Client(base_url=self.url, timeout=60)


def start_server(
    data_dir: Path, settings: dict[str, Any] | None = None, extra_keys: int = 0, *, keys: bool = True
) -> Server:
    """Create API keys (unless ``keys`` is false), apply ``settings``, start ``fame serve --port 0``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    store = AdminKeyStore(data_dir / "admin_keys.json")
    key = store.add(label="api")[0] if keys else ""
    others = tuple(store.add(label=f"api-{i}")[0] for i in range(extra_keys))
    if settings:
        SettingsStore(data_dir / "settings.json").update(settings, admin=True)
    env = dict(os.environ)
    env.pop("FAME_ADMIN_KEY", None)
    proc = subprocess.Popen(
        [FAME, "--data-dir", str(data_dir), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = _URL.search(line)
    if not found:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"fame serve did not start: {line!r} {err}")
    return Server(url=found.group(1), key=key, data_dir=data_dir, proc=proc, other_keys=others)


def stop_server(server: Server) -> str:
    """SIGTERM the server, wait, and return its stderr."""
    server.proc.send_signal(signal.SIGTERM)
    try:
        _, err = server.proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        _, err = server.proc.communicate()
    return err
