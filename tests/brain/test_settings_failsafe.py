"""Settings that fail safe: each unusable file and each hand edit, through the real ``fame`` CLI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fame_cli import run_fame

from fame_desktop.app import build_app
from fame_desktop.orchestrator.settings import SettingsStore


def fame(data_dir: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FAME_ADMIN_KEY"}
    if key:
        env["FAME_ADMIN_KEY"] = key
    return run_fame("--data-dir", str(data_dir), *args, env=env)


def _all_commands_work(data_dir: Path) -> list[str]:
    """Run the everyday commands; every one exits 0 with no traceback. Returns their stderr."""
    errs = []
    for args in (["admin", "settings", "--json"], ["audit", "--limit", "3"], ["ask", "what is 6 * 7"]):
        done = fame(data_dir, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert "Traceback" not in done.stderr
        errs.append(done.stderr)
    return errs


def _deep(n: int) -> str:
    return '{"network": ' + "[" * n + "]" * n + "}"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (_deep(100_000), "nested too deeply"),
        ("{not json", "Expecting property name"),
        ('{"network": {"allow_network": "maybe"}}', "allow_network"),
        ("[1, 2, 3]", "not an object"),
        (b"\xff\xfe\x00binary", "utf-8"),
    ],
)
def test_an_unusable_file_gives_defaults_one_message_and_one_backup(
    data_dir: Path, content: str | bytes, why: str
) -> None:
    path = data_dir / "settings.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    errs = _all_commands_work(data_dir)
    assert why.lower() in errs[0].lower() and "moved to" in errs[0]
    assert "settings" not in errs[1] + errs[2]  # the bad file was moved aside once: later starts are clean
    backups = list(data_dir.glob("settings.json*"))
    assert [p.name for p in backups] == ["settings.json.corrupt"]
    assert (data_dir / "settings.json.corrupt").read_bytes()[:20] == (
        content if isinstance(content, bytes) else content.encode()
    )[:20]


def test_a_huge_corrupt_file_is_moved_not_copied_on_every_start(data_dir: Path) -> None:
    path = data_dir / "settings.json"
    with open(path, "wb") as fh:
        fh.write(b"{" + b"x" * (100 * 1024 * 1024))
    for _ in range(3):
        done = fame(data_dir, "audit", "--limit", "1")
        assert done.returncode == 0, done.stderr
    total = sum(p.stat().st_size for p in data_dir.glob("settings.json*"))
    assert total <= 101 * 1024 * 1024  # one backup, the file itself, never a copy per start
    assert len(list(data_dir.glob("settings.json.corrupt*"))) == 1


def test_a_directory_in_place_of_the_file_is_reported_and_commands_work(data_dir: Path) -> None:
    (data_dir / "settings.json").mkdir()
    errs = _all_commands_work(data_dir)
    assert all("is a directory" in e for e in errs)
    init = fame(data_dir, "admin", "init")
    key = next(w for w in init.stdout.split() if w.startswith("fame_"))
    refused = fame(data_dir, "admin", "network", "on", key=key)
    assert refused.returncode == 2 and "could not be saved" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_hand_edited_insecure_setting_is_ignored_until_an_admin_approves(data_dir: Path) -> None:
    init = fame(data_dir, "admin", "init")
    key = next(w for w in init.stdout.split() if w.startswith("fame_"))
    assert fame(data_dir, "admin", "network", "on", key=key).returncode == 0
    path = data_dir / "settings.json"
    raw = json.loads(path.read_text())
    assert raw["_admin_signature"]["values"]["network.allow_network"] is True
    raw["sandbox"]["allow_local_runner"] = True  # the edit an attacker (or a plugin) would make
    path.write_text(json.dumps(raw))
    errs = _all_commands_work(data_dir)
    assert all("NOT applied" in e and "sandbox.allow_local_runner=true" in e for e in errs)
    shown = json.loads(fame(data_dir, "admin", "settings", "--json").stdout)
    assert shown["sandbox"]["allow_local_runner"] is False
    assert shown["network"]["allow_network"] is True  # the signed change stays
    audit = fame(data_dir, "audit", "--json", "--limit", "50")
    assert "settings_problem" in audit.stdout
    # Forging the signed block instead does not help: its MAC is keyed outside settings.json.
    raw["_admin_signature"]["values"]["sandbox.allow_local_runner"] = True
    path.write_text(json.dumps(raw))
    assert "NOT applied" in fame(data_dir, "admin", "settings").stderr
    # Without a key nothing is approved; with one it is, audited, and the warning goes away.
    assert fame(data_dir, "admin", "approve-settings").returncode == 2
    approved = fame(data_dir, "admin", "approve-settings", key=key)
    assert approved.returncode == 0 and "sandbox.allow_local_runner = true (approved)" in approved.stdout
    after = fame(data_dir, "admin", "settings", "--json")
    assert after.stderr == "" and json.loads(after.stdout)["sandbox"]["allow_local_runner"] is True
    assert "settings_approved" in fame(data_dir, "audit", "--limit", "5").stdout


def test_an_edit_back_to_the_safe_default_is_applied(data_dir: Path) -> None:
    store = SettingsStore(data_dir / "settings.json")
    store.update({"network.allow_network": True}, admin=True)
    raw = json.loads(store.path.read_text())
    raw["network"]["allow_network"] = False
    store.path.write_text(json.dumps(raw))
    again = SettingsStore(store.path)
    assert again.load_problem is None and again.settings.network.allow_network is False


def test_url_credentials_go_to_the_secret_store_not_settings_or_audit(data_dir: Path) -> None:
    app = build_app(data_dir)
    try:
        app.safety.update_settings({"llm.base_url": "http://alice:Pa55w0rdLLM@127.0.0.1:9/v1"}, actor="test")
        assert app.settings.settings.llm.base_url == "http://127.0.0.1:9/v1"
        assert app.settings.url_with_credentials("llm.base_url") == "http://alice:Pa55w0rdLLM@127.0.0.1:9/v1"
        rows = json.dumps([e.to_dict() for e in app.audit.query(limit=20)])
    finally:
        app.services.close()
    assert "Pa55w0rdLLM" not in (data_dir / "settings.json").read_text()
    assert "Pa55w0rdLLM" not in rows
    assert (
        SettingsStore(data_dir / "settings.json")
        .url_with_credentials("llm.base_url")
        .startswith("http://alice:Pa55w0rdLLM@")
    )
