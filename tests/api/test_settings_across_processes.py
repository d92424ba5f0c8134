"""Two processes on one data dir: the CLI changes a setting, the running API server follows."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from api_harness import FAME, Server, start_server, stop_server

from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.audit_kinds import AuditKind

pytestmark = pytest.mark.slow


def _network(client: httpx.Client) -> bool:
    details = client.get("/health").json()["details"]
    return bool(details["network"])


def _wait_for_network(client: httpx.Client, want: bool, since: float, limit: float = 5.0) -> float:
    """Seconds from ``since`` until the server reports the network as ``want``."""
    while time.monotonic() - since < limit:
        if _network(client) is want:
            return time.monotonic() - since
        time.sleep(0.02)
    raise AssertionError(f"the server still reports network={not want} after {limit} s")


def test_the_cli_turns_the_network_on_for_the_running_server(tmp_path: Path) -> None:
    server: Server = start_server(tmp_path / "data")
    try:
        with server.client() as client:
            assert _network(client) is False
            env = {k: v for k, v in os.environ.items() if k != "FAME_ADMIN_KEY"}
            cli = [FAME, "--data-dir", str(server.data_dir), "--admin-key", server.key, "admin", "network"]
            done = subprocess.run([*cli, "on"], capture_output=True, text=True, env=env, timeout=120)
            written = time.monotonic()  # the CLI has saved the file when it exits
            assert done.returncode == 0, done.stderr
            latency_on = _wait_for_network(client, True, written)
            done = subprocess.run([*cli, "off"], capture_output=True, text=True, env=env, timeout=120)
            written = time.monotonic()
            assert done.returncode == 0, done.stderr
            latency_off = _wait_for_network(client, False, written)
            print(f"\nserver saw the CLI's change after {latency_on * 1000:.0f} ms (on), "
                  f"{latency_off * 1000:.0f} ms (off)")  # fmt: skip
            assert latency_on < 1.0 and latency_off < 1.0

            # An admin field edited by hand, without the admin signature, is refused by the server.
            path = server.data_dir / "settings.json"
            data = json.loads(path.read_text())
            data["network"]["allow_network"] = True
            path.write_text(json.dumps(data))
            time.sleep(1.0)
            assert _network(client) is False
    finally:
        err = stop_server(server)
    assert "Traceback" not in err
    assert "NOT applied" in err  # the server says why it ignored the edit
    # Audited once each, by the process that made the change (the CLI), not again by the server.
    audit = AuditLog(server.data_dir / "audit.sqlite3")
    try:
        changes = [e for e in audit.query(limit=200) if e.kind == AuditKind.SETTINGS_CHANGED]
    finally:
        audit.close()
    assert len(changes) == 2
    assert {e.actor for e in changes} == {"cli"}
