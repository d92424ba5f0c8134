"""`fame serve` and `fame --self-test` go on when a user plugin exits, loops or crashes (issue 14, finding 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from api_harness import start_server, stop_server
from plugin_trust import approve_plugins

HEADER = (
    'PLUGIN = {{"name": "{name}", "version": "1.0", "description": "Test plugin.", '
    '"intents": {{"chat": ["{name} please"]}}, "priority": 9{extra}}}\n'
)
FAULTY = {
    "exits_at_import": HEADER.format(name="exits_at_import", extra="")
    + "import os\nos._exit(1)\ndef handle(r): return {'response': 'never'}\n",
    "loops_at_import": HEADER.format(name="loops_at_import", extra=', "timeout_seconds": 100000')
    + "while True:\n    pass\ndef handle(r): return {'response': 'never'}\n",
    "loops_in_handle": HEADER.format(name="loops_in_handle", extra=', "timeout_seconds": 3')
    + "def handle(r):\n    while True:\n        pass\n",
    "crashes": HEADER.format(name="crashes", extra="") + "import os\ndef handle(r):\n    os._exit(9)\n",
}


def _install(data_dir: Path) -> None:
    plugins = data_dir / "plugins"
    plugins.mkdir(parents=True)
    for name, source in FAULTY.items():
        (plugins / f"{name}.py").write_text(source)
    approve_plugins(data_dir)


@pytest.mark.slow
def test_the_server_answers_on_while_plugins_exit_loop_and_crash(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _install(data_dir)
    server = start_server(data_dir)
    try:
        with server.client() as client:
            assert client.get("/health").status_code == 200
            listed = {p["name"]: p for p in client.get("/plugins").json()}
            assert listed["exits_at_import"]["status"] == "failed"
            assert "crashed: its process exited with code 1" in listed["exits_at_import"]["error"]
            assert "did not finish in 10 s" in listed["loops_at_import"]["error"]
            assert listed["calculator"]["status"] == "loaded"
            assert "path" in listed["calculator"]  # the app's own listing keeps paths; plugin hosts do not

            started = time.monotonic()
            looped = client.post("/query", json={"text": "loops_in_handle please", "intent": "chat"})
            assert looped.status_code == 200 and time.monotonic() - started < 30
            assert "loops_in_handle" not in looped.json()["plugins"] and looped.json()["response"]
            crashed = client.post("/query", json={"text": "crashes please", "intent": "chat"})
            assert crashed.status_code == 200 and "crashes" not in crashed.json()["plugins"]
            assert client.post("/query", json={"text": "what is 6 * 7"}).json()["response"].count("42")
            results = [
                e
                for e in client.get("/audit", params={"limit": 40}).json()
                if e["kind"] == "plugin_result" and e["data"].get("plugin") in {"loops_in_handle", "crashes"}
            ]
            errors = {e["data"]["plugin"]: e["data"]["error"] for e in results}
            assert errors["loops_in_handle"]["code"] == "timeout"
            assert (
                "did not answer within 3 s; its process was stopped" in errors["loops_in_handle"]["message"]
            )
            assert "crashed: its process exited with code 9" in errors["crashes"]["message"]
            assert client.get("/health").status_code == 200
    finally:
        stop_server(server)


@pytest.mark.gui
@pytest.mark.slow
def test_the_self_test_passes_with_faulty_user_plugins(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _install(data_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAME_")}
    env.update(FAME_HOME=str(data_dir), QT_QPA_PLATFORM="offscreen")
    started = time.monotonic()
    result = subprocess.run(
        [str(Path(sys.executable).with_name("fame")), "--self-test"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert time.monotonic() - started < 120
