"""Tampering with the audit log the way an attacker would (editing the real SQLite file), and what
``fame audit --verify`` and the app then say. Also: upgrade of first-format logs, file modes."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import pytest
from fame_cli import run_fame

from fame_desktop.orchestrator import audit_verify
from fame_desktop.orchestrator.audit import AuditLog, entry_hash


def fame(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_fame("--data-dir", str(data_dir), *args)


def verify_json(data_dir: Path) -> dict[str, object]:
    out = fame(data_dir, "audit", "--verify", "--json")
    assert out.returncode in (0, 1), out.stderr
    report = json.loads(out.stdout)
    assert (out.returncode == 0) is report["ok"]
    return dict(report)


def make_log(data_dir: Path, n: int = 20) -> Path:
    db = data_dir / "audit.sqlite3"
    log = AuditLog(db)
    for i in range(n):
        log.append("query", {"text": f"question {i}"}, actor="tester", summary=f"q{i}")
    log.close()
    assert verify_json(data_dir)["ok"] is True
    return db


def make_first_format_log(db: Path, n: int, summary: str = "q{i}", actor: str = "tester") -> None:
    """A log exactly as FAME wrote it before the keyed chain (schema 1, SHA-256, ``chain_head``)."""
    with sqlite3.connect(db) as raw:
        raw.executescript(
            """
            CREATE TABLE entries (id INTEGER PRIMARY KEY, ts REAL NOT NULL, kind TEXT NOT NULL, actor TEXT,
                summary TEXT NOT NULL, data TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
            CREATE INDEX entries_ts ON entries(ts);
            CREATE INDEX entries_kind ON entries(kind);
            CREATE TABLE chain_head (one INTEGER PRIMARY KEY CHECK (one = 1), last_id INTEGER NOT NULL,
                last_hash TEXT NOT NULL);
            PRAGMA user_version = 1;
            """
        )
        prev = "0" * 64
        for i in range(1, n + 1):
            ts, data, text = time.time(), json.dumps({"i": i}), summary.format(i=i)
            digest = entry_hash(i, ts, "query", actor, text, data, prev)
            raw.execute(
                "INSERT INTO entries VALUES (?,?,?,?,?,?,?,?)",
                (i, ts, "query", actor, text, data, prev, digest),
            )
            prev = digest
        raw.execute("INSERT INTO chain_head VALUES (1, ?, ?)", (n, prev))
    os.chmod(db, 0o644)  # what the first format left behind


def rehash_from(raw: sqlite3.Connection, first: int) -> None:
    """What an attacker without the key can do: recompute a SHA-256 chain from ``first`` on."""
    prev = raw.execute("SELECT hash FROM entries WHERE id = ?", (first - 1,)).fetchone()
    prev_hash = prev[0] if prev else "0" * 64
    rows = raw.execute(
        "SELECT id, ts, kind, actor, summary, data FROM entries WHERE id >= ? ORDER BY id", (first,)
    ).fetchall()
    for entry_id, ts, kind, actor, summary, data in rows:
        digest = entry_hash(entry_id, ts, kind, actor, summary, data, prev_hash)
        raw.execute("UPDATE entries SET prev_hash = ?, hash = ? WHERE id = ?", (prev_hash, digest, entry_id))
        prev_hash = digest


def test_a_row_added_after_the_end_with_junk_hashes_is_named(data_dir: Path) -> None:
    db = make_log(data_dir)
    with sqlite3.connect(db) as raw:
        raw.execute(
            "INSERT INTO entries VALUES (21, ?, 'admin_action', 'admin', 'admin key removed', '{}', ?, ?)",
            (time.time(), "f" * 64, "e" * 64),
        )
    report = verify_json(data_dir)
    assert report["ok"] is False and report["first_bad_id"] == 21
    assert report["bad_ids"] == [21] and "added outside FAME" in str(report["problem"])
    listing = fame(data_dir, "audit")
    assert listing.returncode == 0 and "failed its integrity check" in listing.stderr


def test_rows_edited_and_rehashed_after_an_entry_are_all_named(data_dir: Path) -> None:
    db = make_log(data_dir)
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE entries SET summary = 'nothing happened' WHERE id >= 4")
        rehash_from(raw, 4)
    report = verify_json(data_dir)
    assert report["ok"] is False and report["first_bad_id"] == 4
    assert report["bad_ids"] == list(range(4, 21))
    assert any("entry 20 is not the one the checkpoint records" in p for p in report["problems"])  # type: ignore[attr-defined]


def test_a_tail_cut_off_is_detected_against_the_checkpoint(data_dir: Path) -> None:
    db = make_log(data_dir)
    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM entries WHERE id >= 16")
    report = verify_json(data_dir)
    assert report["ok"] is False and report["first_bad_id"] == 16
    assert "entries 16 to 20 are missing: the log was truncated" in str(report["problem"])
    # The finding is signed into the checkpoint: more entries and restarts do not wash it out.
    log = AuditLog(db)
    assert not log.integrity.ok
    for i in range(30):
        log.append("query", {"i": i})
    log.close()
    report = verify_json(data_dir)
    assert report["ok"] is False and report["first_bad_id"] == 16
    assert "truncated" in str(report["problem"])


def test_the_whole_chain_rehashed_without_the_key_is_detected(data_dir: Path) -> None:
    db = make_log(data_dir)
    checkpoint = data_dir / "audit.checkpoint"
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE entries SET summary = 'rewritten' WHERE id = 2")
        rehash_from(raw, 1)
        # Make every row look like a first-format one, so its SHA-256 is all that is checked.
        raw.execute("UPDATE meta SET value = '1000000' WHERE key = 'keyed_from'")
    report = verify_json(data_dir)
    assert report["ok"] is False
    assert any("the checkpoint says 1" in p for p in report["problems"])  # type: ignore[attr-defined]
    assert any("entry 20 is not the one" in p for p in report["problems"])  # type: ignore[attr-defined]

    # Deleting the checkpoint too, or writing one without the key, is named as such.
    saved = checkpoint.read_bytes()
    checkpoint.unlink()
    assert "checkpoint audit.checkpoint is missing" in str(verify_json(data_dir)["problem"])
    forged = json.loads(saved)
    forged["mac"] = hashlib.sha256(b"guess").hexdigest()
    checkpoint.write_text(json.dumps(forged))
    assert "not signed by this log's key" in str(verify_json(data_dir)["problem"])


def test_a_first_format_log_still_verifies_and_is_continued(data_dir: Path) -> None:
    db = data_dir / "audit.sqlite3"
    make_first_format_log(db, 30)
    log = AuditLog(db)
    try:
        assert log.integrity.ok, log.integrity.problem
        assert len(log) == 30 and log.verify().ok
        entry = log.append("query", {"text": "after the upgrade"})
        assert entry.id == 31 and entry.prev_hash == log[29].hash
    finally:
        log.close()
    assert verify_json(data_dir)["checked"] == 31
    # The first-format entries are anchored by the keyed chain: rewriting them is detected.
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE entries SET summary = 'rewritten' WHERE id = 5")
        rehash_from(raw, 5)
    report = verify_json(data_dir)
    assert report["ok"] is False and 31 in report["bad_ids"]  # type: ignore[operator]


def test_a_moved_chain_head_no_longer_wedges_the_app(data_dir: Path) -> None:
    """The first format's attack: head moved back to 3 and later rows edited. Queries went on failing
    with "UNIQUE constraint failed"; now they are answered and audited, and the edit is named."""
    db = data_dir / "audit.sqlite3"
    make_first_format_log(db, 20)
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE chain_head SET last_id = 3, last_hash = (SELECT hash FROM entries WHERE id = 3)")
        raw.execute("UPDATE entries SET summary = 'edited' WHERE id > 3")
    asked = fame(data_dir, "ask", "--json", "what is 2+2")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["audit_id"] > 20
    report = verify_json(data_dir)
    assert report["ok"] is False and report["first_bad_id"] == 4
    assert report["bad_ids"][:17] == list(range(4, 21))  # type: ignore[index]
    out = fame(data_dir, "audit", "--verify")
    assert out.returncode == 1
    assert "AUDIT CHAIN BROKEN at entry 4" in out.stdout and "What to do:" in out.stdout


def test_log_key_and_checkpoint_files_are_private(data_dir: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        make_log(data_dir, 3)
        legacy_dir = data_dir / "legacy"
        legacy_dir.mkdir()
        make_first_format_log(legacy_dir / "audit.sqlite3", 3)
        AuditLog(legacy_dir / "audit.sqlite3").close()
    finally:
        os.umask(old_umask)
    for folder in (data_dir, legacy_dir):
        log = AuditLog(folder / "audit.sqlite3")  # holds the -wal and -shm files open
        try:
            log.append("query", {})
            names = [
                "audit.sqlite3",
                "audit.sqlite3-wal",
                "audit.sqlite3-shm",
                "audit.key",
                "audit.checkpoint",
            ]
            for name in names:
                mode = stat.S_IMODE((folder / name).stat().st_mode)
                assert mode == 0o600, f"{folder / name}: {oct(mode)}"
        finally:
            log.close()


@pytest.mark.parametrize("damage", ["delete", "garble"])
def test_a_lost_key_is_reported_and_the_log_keeps_recording(data_dir: Path, damage: str) -> None:
    db = make_log(data_dir, 5)
    key = data_dir / "audit.key"
    if damage == "delete":
        key.unlink()
    else:
        key.write_text("not a key")
    log = AuditLog(db)
    try:
        assert not log.integrity.ok and "audit key" in str(log.integrity.problem)
        assert log.append("query", {"still": "recording"}).id == 6
    finally:
        log.close()
    report = verify_json(data_dir)
    assert report["ok"] is False and report["bad_ids"] == [1, 2, 3, 4, 5]


def test_entries_cut_while_the_app_runs_are_detected_at_the_next_append(data_dir: Path) -> None:
    log = AuditLog(data_dir / "audit.sqlite3")
    try:
        for i in range(10):
            log.append("query", {"i": i})
        with sqlite3.connect(log.path) as raw:
            raw.execute("DELETE FROM entries WHERE id >= 6")
        assert log.append("query", {"after": True}).id == 6  # still recording
        assert not log.integrity.ok and "disappeared while FAME was running" in str(log.integrity.problem)
    finally:
        log.close()
    report = verify_json(data_dir)
    assert report["ok"] is False and report["first_bad_id"] == 6
    assert "entries 6 to 10 disappeared" in str(report["problem"])


def test_a_long_log_checked_by_two_processes_names_what_one_process_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "audit.sqlite3"
    log = AuditLog(db)
    log.append_many([("query", {"i": i}, "tester", f"q{i}") for i in range(1000)])
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE entries SET summary = 'edited' WHERE id IN (10, 700)")
        raw.execute("DELETE FROM entries WHERE id BETWEEN 499 AND 501")  # where the log is split
    try:
        results = {}
        for parallel in (False, True):
            monkeypatch.setattr(audit_verify, "PARALLEL_MIN_ROWS", 100 if parallel else 10**9)
            results[parallel] = log.verify()
        one, two = results[False], results[True]
        assert one.bad_ids == (10, 700) and one.first_bad_id == 10
        assert "entries 499 to 501 are missing (deleted)" in str(one.problem)
        assert (two.problems, two.bad_ids, two.checked) == (one.problems, one.bad_ids, one.checked)
        assert two.checked == 997
    finally:
        log.close()
