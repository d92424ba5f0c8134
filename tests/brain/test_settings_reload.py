"""Settings written by another process reach a running store: reloaded, signature-checked, once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fame_desktop.orchestrator.settings import SIGNATURE_FIELD, SettingsStore
from fame_desktop.orchestrator.settings_watch import watch_settings


def _pair(tmp_path: Path) -> tuple[SettingsStore, SettingsStore, list[dict[str, Any]]]:
    """Two stores on one file (two processes' views); the first records what it is told."""
    seen: list[dict[str, Any]] = []
    running = SettingsStore(tmp_path / "settings.json", on_change=seen.append)
    other = SettingsStore(tmp_path / "settings.json")
    return running, other, seen


def test_a_change_by_another_store_is_reloaded_and_reported_once(tmp_path: Path) -> None:
    running, other, seen = _pair(tmp_path)
    assert running.reload_if_changed() == {}
    other.update({"network.allow_network": True, "ui.theme": "dark"}, admin=True)
    changed = running.reload_if_changed()
    assert changed == {"network.allow_network": True, "ui.theme": "dark"}
    assert running.settings.network.allow_network is True
    assert seen == [changed]
    # Nothing new on disk: no second report.
    assert running.reload_if_changed() == {}
    assert seen == [changed]


def test_own_writes_are_not_reloaded(tmp_path: Path) -> None:
    running, _other, seen = _pair(tmp_path)
    running.update({"ui.theme": "light"}, admin=False)
    assert seen == [{"ui.theme": "light"}]
    assert not running.file_changed()
    assert running.reload_if_changed() == {}
    assert len(seen) == 1


def test_an_update_starts_from_the_other_process_change(tmp_path: Path) -> None:
    running, other, _seen = _pair(tmp_path)
    other.update({"ui.theme": "dark"}, admin=False)
    running.update({"voice.tts_rate": 200}, admin=False)
    on_disk = json.loads((tmp_path / "settings.json").read_text())
    assert on_disk["ui"]["theme"] == "dark"  # not lost by the second writer
    assert on_disk["voice"]["tts_rate"] == 200


def test_an_unsigned_hand_edit_of_an_admin_field_is_refused(tmp_path: Path) -> None:
    running, other, seen = _pair(tmp_path)
    other.update({"ui.theme": "dark"}, admin=False)
    running.reload_if_changed()
    path = tmp_path / "settings.json"
    data = json.loads(path.read_text())
    data["network"]["allow_network"] = True
    data["sandbox"]["cpus"] = 4.0
    data["voice"]["tts_rate"] = 120  # not an admin field: applies
    path.write_text(json.dumps(data))
    changed = running.reload_if_changed()
    assert changed == {"voice.tts_rate": 120}
    assert running.settings.network.allow_network is False
    assert running.settings.sandbox.cpus == 0.5
    assert running.unapproved == {"network.allow_network": True, "sandbox.cpus": 4.0}
    assert running.load_problem and "NOT applied" in running.load_problem
    assert seen[-1] == {"voice.tts_rate": 120}


def test_a_signature_copied_from_elsewhere_does_not_cover_a_hand_edit(tmp_path: Path) -> None:
    running, other, _seen = _pair(tmp_path)
    other.update({"network.allow_network": False, "sandbox.cpus": 2.0}, admin=True)
    running.reload_if_changed()
    path = tmp_path / "settings.json"
    data = json.loads(path.read_text())
    assert SIGNATURE_FIELD in data
    data["network"]["allow_network"] = True
    data[SIGNATURE_FIELD]["values"]["network.allow_network"] = True  # the MAC no longer matches
    path.write_text(json.dumps(data))
    # A broken signature covers nothing: every admin value falls back to its safe default.
    assert running.reload_if_changed() == {"sandbox.cpus": 0.5}
    assert running.settings.network.allow_network is False


def test_a_half_written_file_keeps_the_settings_and_the_file(tmp_path: Path) -> None:
    running, other, seen = _pair(tmp_path)
    other.update({"ui.theme": "dark"}, admin=False)
    running.reload_if_changed()
    path = tmp_path / "settings.json"
    path.write_text('{"ui": {"theme": "li')
    assert running.reload_if_changed() == {}
    assert running.settings.ui.theme == "dark"
    assert path.exists() and not (tmp_path / "settings.json.corrupt").exists()
    assert running.reload_if_changed() == {}  # not re-read until it changes again
    path.write_text('{"ui": {"theme": "light"}}')
    assert running.reload_if_changed() == {"ui.theme": "light"}
    assert seen[-1] == {"ui.theme": "light"}


def test_a_deleted_file_gives_the_safe_defaults(tmp_path: Path) -> None:
    running, other, _seen = _pair(tmp_path)
    other.update({"network.allow_network": True}, admin=True)
    running.reload_if_changed()
    (tmp_path / "settings.json").unlink()
    assert running.reload_if_changed() == {"network.allow_network": False}


async def test_the_watch_task_applies_a_change_within_a_second(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    def on_change(changes: dict[str, Any]) -> None:
        seen.append(changes)
        arrived.set()

    running = SettingsStore(tmp_path / "settings.json", on_change=on_change)
    other = SettingsStore(tmp_path / "settings.json")
    task = asyncio.ensure_future(watch_settings(running))
    try:
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        other.update({"network.allow_network": True}, admin=True)
        await asyncio.wait_for(arrived.wait(), timeout=3)
        latency = time.monotonic() - t0
    finally:
        task.cancel()
    assert seen == [{"network.allow_network": True}]
    assert latency < 1.0, latency


_WRITER = """
import sys
from pathlib import Path
from fame_desktop.orchestrator.settings import SettingsStore
store = SettingsStore(Path(sys.argv[1]))
path, start = sys.argv[2], int(sys.argv[3])
sys.stdin.readline()  # both writers start together
for i in range(40):
    store.update({path: start + i}, admin=False)
"""


def test_two_processes_writing_at_once_lose_neither_change(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    SettingsStore(settings).update({"ui.theme": "dark"}, admin=False)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(settings), path, str(start)],
            stdin=subprocess.PIPE,
            text=True,
        )
        for path, start in (("voice.tts_rate", 100), ("plugins.timeout_seconds", 1))
    ]
    for w in writers:
        assert w.stdin is not None
        w.stdin.write("go\n")
        w.stdin.close()
    for w in writers:
        assert w.wait(timeout=120) == 0
    final = SettingsStore(settings).settings
    # Each writer's last value survived the other's writes (updates read the file under its lock).
    assert final.voice.tts_rate == 139
    assert final.plugins.timeout_seconds == 40
    assert final.ui.theme == "dark"
