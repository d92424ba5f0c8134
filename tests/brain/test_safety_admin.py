"""Admin keys (hashed, shown once, lockout), network and capability gates, settings persistence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fame_desktop.app import App, build_app
from fame_desktop.orchestrator.admin import MAX_FAILURES, AdminKeyStore
from fame_desktop.orchestrator.errors import AdminLocked, AdminRequired, FameError, InvalidSetting
from fame_desktop.orchestrator.settings import SettingsStore


async def test_first_key_is_stored_only_as_a_salted_hash(app: App) -> None:
    key = app.safety.create_first_key()
    raw = app.paths.admin_keys.read_text()
    assert key not in raw
    stored = json.loads(raw)["keys"][0]
    assert stored["salt"] and stored["hash"] and len(stored["key_id"]) == 12
    assert stored["scheme"] == "hmac-sha256"
    assert app.paths.admin_keys.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FameError, match="already exists"):
        app.safety.create_first_key()


async def test_network_needs_admin_and_is_audited(app: App) -> None:
    key = app.safety.create_first_key()
    with pytest.raises(AdminRequired):
        app.safety.update_settings({"network.allow_network": True}, actor="test")
    with pytest.raises(AdminRequired):
        app.safety.update_settings(
            {"network.allow_network": True}, key="fame_wrong-key-000000000000", actor="test"
        )
    assert app.audit[-1].kind == "admin_failed"
    app.safety.update_settings({"network.allow_network": True}, key=key, actor="test")
    assert app.brain.allow_network is True
    assert app.audit[-1].kind == "settings_changed"
    assert app.audit[-1].data["changes"] == {"network.allow_network": True}
    # Persisted for the next start.
    assert SettingsStore(app.paths.settings).settings.network.allow_network is True


async def test_wrong_keys_never_lock_out_the_right_key_nor_another_process(app: App) -> None:
    key = app.safety.create_first_key()
    # Older versions persisted a lockout in the key file: it is ignored now.
    raw = json.loads(app.paths.admin_keys.read_text())
    raw.update(failures=[1.0] * 4, locked_until=4_102_444_800.0)
    app.paths.admin_keys.write_text(json.dumps(raw))
    refused = 0
    for i in range(MAX_FAILURES + 5):
        try:
            assert not app.safety.is_admin(f"fame_not-the-key-{i:020d}", actor="ui")
        except AdminLocked:
            refused += 1
    assert refused == 5  # the actor is slowed down after MAX_FAILURES wrong keys ...
    assert app.safety.is_admin(key, actor="ui")  # ... but the right key still works there
    assert AdminKeyStore(app.paths.admin_keys).verify(key) is not None  # and in any other process


async def test_admin_session_unlock_and_lock(app: App) -> None:
    key = app.safety.create_first_key()
    assert not app.safety.unlock("fame_wrong-key-000000000000")
    assert app.safety.unlock(key)
    app.safety.update_settings({"capabilities.security_test": True}, actor="ui")
    app.safety.lock()
    with pytest.raises(AdminRequired):
        app.safety.update_settings({"capabilities.security_test": False}, actor="ui")


async def test_key_management_add_remove(app: App) -> None:
    first = app.safety.create_first_key()
    second = app.safety.add_key(key=first, label="laptop")
    assert len(app.services.keys) == 2
    second_id = next(k.key_id for k in app.services.keys if k.label == "laptop")
    assert app.safety.remove_key(second_id, key=first)
    assert app.services.keys.verify(second) is None
    with pytest.raises(FameError, match="last admin key"):
        app.safety.remove_key(next(iter(app.services.keys)).key_id, key=first)


async def test_security_test_after_admin_enables_it_only_probes_allowlisted_hosts(app: App) -> None:
    key = app.safety.create_first_key()
    app.safety.update_settings(
        {"capabilities.security_test": True, "capabilities.security_allowlist": ["127.0.0.1"]}, key=key
    )
    needs_network = await app.brain.handle_query(
        {"text": "check port 80 on 127.0.0.1", "intent": "security_test", "admin_key": key}
    )
    assert needs_network["error"]["code"] == "network_disabled"
    app.safety.update_settings({"network.allow_network": True}, key=key)
    refused = await app.brain.handle_query(
        {"text": "check port 80 on example.com", "intent": "security_test", "admin_key": key}
    )
    assert refused["intent"] == "security_test"
    assert "example.com" in refused["response"]
    assert "allow" in refused["response"].lower()


async def test_invalid_setting_values_are_refused_and_nothing_changes(app: App) -> None:
    key = app.safety.create_first_key()
    with pytest.raises(InvalidSetting, match=r"sandbox\.pids_limit"):
        app.safety.update_settings({"sandbox.pids_limit": 1, "sandbox.cpus": 1.0}, key=key)
    assert app.settings.settings.sandbox.cpus == 0.5
    with pytest.raises(InvalidSetting, match="no such setting"):
        app.safety.update_settings({"sandbox.nope": 1}, key=key)


def test_corrupt_settings_file_is_backed_up_and_reported(data_dir: Path) -> None:
    (data_dir / "settings.json").write_text('{"network": {"allow_network": "maybe"')
    app = build_app(data_dir)
    try:
        assert app.settings.load_problem and "moved to" in app.settings.load_problem
        assert (data_dir / "settings.json.corrupt").exists()
        assert app.settings.settings.network.allow_network is False
        assert app.audit[-1].kind == "settings_problem"
    finally:
        app.services.close()


def test_corrupt_admin_key_file_is_a_clear_error(data_dir: Path) -> None:
    (data_dir / "admin_keys.json").write_text("{not json")
    with pytest.raises(FameError, match="unreadable"):
        AdminKeyStore(data_dir / "admin_keys.json")


def test_two_processes_sharing_the_key_file_never_lose_keys(data_dir: Path) -> None:
    running = AdminKeyStore(data_dir / "keys.json")  # e.g. `fame serve`
    first, _ = running.add()
    other = AdminKeyStore(data_dir / "keys.json")  # e.g. `fame admin add` meanwhile
    second, record = other.add(label="api")
    assert running.verify(second) == record.key_id  # seen without restart
    assert running.verify("fame_wrong-key-000000000000") is None  # a write by the old process ...
    assert other.verify(second) == record.key_id  # ... keeps the new key
    assert len(AdminKeyStore(data_dir / "keys.json")) == 2
    assert other.remove(record.key_id)
    assert running.verify(second) is None  # removal takes effect at once
    assert running.verify(first) is not None
