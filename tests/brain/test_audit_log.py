"""The audit log on a real SQLite file: crash safety, tamper evidence, redaction, queries, export."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from crash_writer import committed_then_killed
from fame_cli import run_fame

from fame_desktop.orchestrator.audit import AuditLog

WRITER = """
import sys
from pathlib import Path
from fame_desktop.orchestrator.audit import AuditLog
log = AuditLog(Path(sys.argv[1]))
i = 0
while True:
    entry = log.append("burst", {"n": i, "pad": "x" * 200}, actor="writer", summary=f"entry {i}")
    # Printed only after append() returned, i.e. after COMMIT.
    sys.stdout.write(f"{entry.id}\\n")
    sys.stdout.flush()
    i += 1
"""


def _fame(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_fame("--data-dir", str(data_dir), *args, timeout=120)


def test_kill_9_during_a_burst_loses_no_committed_entry(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    committed = committed_then_killed(WRITER, db, 2000)

    log = AuditLog(db)
    try:
        result = log.verify()
        assert result.ok, result.problem
        assert len(log) >= committed[-1]
        ids = {e.id for e in log.query(kinds=["burst"], limit=-1)}
        assert set(committed) <= ids
        assert log[committed[-1] - 1].data["n"] == committed[-1] - 1
    finally:
        log.close()


def test_an_edited_row_is_named_by_fame_audit_verify(data_dir: Path) -> None:
    log = AuditLog(data_dir / "audit.sqlite3")
    for i in range(10):
        log.append("query", {"text": f"question {i}"}, actor="tester", summary=f"q{i}")
    log.close()
    assert _fame(data_dir, "audit", "--verify").returncode == 0

    with sqlite3.connect(data_dir / "audit.sqlite3") as raw:
        raw.execute("UPDATE entries SET summary = 'innocent' WHERE id = 7")
    out = _fame(data_dir, "audit", "--verify", "--json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert report["ok"] is False and report["first_bad_id"] == 7
    assert "modified" in report["problem"]


def test_a_deleted_row_and_a_truncated_tail_are_detected(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    log = AuditLog(db)
    for i in range(20):
        log.append("query", {"i": i})
    log.close()
    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM entries WHERE id = 5")
    log = AuditLog(db)
    result = log.verify()
    assert not result.ok and result.first_bad_id == 5 and "missing" in str(result.problem)
    log.close()

    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM entries WHERE id >= 4")
    log = AuditLog(db)
    result = log.verify()
    log.close()
    assert not result.ok and result.first_bad_id == 4 and "truncated" in str(result.problem)


def test_secrets_and_personal_data_never_reach_the_file(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    log = AuditLog(db)
    secrets = [
        "fame_AbCdEfGhIjKlMnOpQrStUvWxYz0123",
        "sk-proj-abcdefghijklmnop1234567890",
        "jane.doe@example.com",
        "4111 1111 1111 1111",
    ]
    log.append(
        "query",
        {"text": "my key is " + secrets[0] + " and " + secrets[1], "email": secrets[2], "card": secrets[3]},
        actor="user",
        summary="mail me at " + secrets[2],
    )
    log.append("admin", {"api_key": "hunter2-hunter2"}, summary="set key")
    log.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("audit.sqlite3"))
    for secret in [*secrets, "hunter2-hunter2"]:
        assert secret.encode() not in blob, secret
    log = AuditLog(db)
    try:
        assert "[REDACTED" in log[0].data["text"]
        assert log.verify().ok
    finally:
        log.close()


def test_query_by_kind_text_and_time_and_export_jsonl(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    try:
        log.append("query", {"text": "reverse a string"}, summary="code")
        middle = time.time()
        time.sleep(0.01)
        log.append("sandbox_run", {"status": "ok"}, summary="ran")
        log.append("query", {"text": "btc price"}, summary="market")
        assert [e.summary for e in log.query(kinds=["query"])] == ["market", "code"]
        assert [e.summary for e in log.query(text="btc")] == ["market"]
        assert [e.summary for e in log.query(since=middle, newest_first=False)] == ["ran", "market"]
        assert log.count(kinds=["sandbox_run"]) == 1
        out = tmp_path / "export.jsonl"
        assert log.export_jsonl(out, kinds=["query"]) == 2
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["data"]["text"] for r in rows] == ["reverse a string", "btc price"]
        assert all(len(r["hash"]) == 64 for r in rows)
    finally:
        log.close()


def test_four_processes_creating_and_appending_keep_one_valid_chain(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    script = (
        "import sys\nfrom pathlib import Path\nfrom fame_desktop.orchestrator.audit import AuditLog\n"
        "log = AuditLog(Path(sys.argv[1]))\n"
        "for i in range(300):\n    log.append('p', {'who': sys.argv[2], 'i': i})\nlog.close()\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(db), who]) for who in ("a", "b", "c", "d")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    log = AuditLog(db)
    try:
        assert len(log) == 1200
        assert log.verify().ok
        assert {e.data["who"] for e in log} == {"a", "b", "c", "d"}
    finally:
        log.close()


def test_the_wal_is_checkpointed_in_the_background_while_the_log_is_open(tmp_path: Path) -> None:
    # Commits leave WAL checkpoints to the log's own thread (not inside a commit): while the log
    # stays open, committed pages still reach the database file, and a reader sees every entry.
    db = tmp_path / "audit.sqlite3"
    log = AuditLog(db)
    try:
        empty = db.stat().st_size
        for batch in range(40):
            log.append_many(
                [("burst", {"n": i, "pad": "x" * 200}, "writer", f"{batch} {i}") for i in range(500)]
            )
        deadline = time.monotonic() + 120  # a hang guard, not a speed limit
        while db.stat().st_size <= empty and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db.stat().st_size > empty
        reader = sqlite3.connect(db)
        try:
            assert reader.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 40 * 500
        finally:
            reader.close()
        assert log.verify().ok
    finally:
        log.close()
