"""Control characters in audit entries never reach the terminal raw: the real ``fame audit`` output."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from fame_desktop.orchestrator.audit import AuditLog, entry_hash
from fame_desktop.orchestrator.printable import escape_controls, safe_json

FAME = str(Path(sys.executable).with_name("fame"))
FORGED = "#9999    2026-12-01 10:00:00  admin_action       admin          admin key removed"
ATTACKS = {
    "summary_cr_ansi": ("query", "api:anonymous", f"GET /x\r\x1b[2K{FORGED}"),
    "actor_newline": ("query", f"evil\n{FORGED}", "GET /health -> 401"),
    "kind_c1": ("query\x9b2K\x9b1A", "api", "GET /y -> 404"),
    "bidi_and_bell": ("query", "api", "file\u202egpj.exe\x07\x08\x7f\u2028next line\x85"),
}
# Anything a terminal could act on: C0 except the newline between lines, DEL, C1, separators, bidi.
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def write_raw_first_format(db: Path) -> None:
    """Entries as the first format stored them: control characters raw in every field."""
    with sqlite3.connect(db) as raw:
        raw.executescript(
            """
            CREATE TABLE entries (id INTEGER PRIMARY KEY, ts REAL NOT NULL, kind TEXT NOT NULL, actor TEXT,
                summary TEXT NOT NULL, data TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
            CREATE TABLE chain_head (one INTEGER PRIMARY KEY CHECK (one = 1), last_id INTEGER NOT NULL,
                last_hash TEXT NOT NULL);
            PRAGMA user_version = 1;
            """
        )
        prev = "0" * 64
        for i, (kind, actor, summary) in enumerate(ATTACKS.values(), start=1):
            ts, data = time.time(), json.dumps({"path": "\x1b]0;owned\x07\x9b31m"}, ensure_ascii=False)
            digest = entry_hash(i, ts, kind, actor, summary, data, prev)
            raw.execute(
                "INSERT INTO entries VALUES (?,?,?,?,?,?,?,?)",
                (i, ts, kind, actor, summary, data, prev, digest),
            )
            prev = digest
        raw.execute("INSERT INTO chain_head VALUES (1, ?, ?)", (len(ATTACKS), prev))


def test_fame_audit_prints_control_characters_escaped(data_dir: Path) -> None:
    db = data_dir / "audit.sqlite3"
    write_raw_first_format(db)
    log = AuditLog(db)  # and the same again through today's append (escaped on the way in)
    for kind, actor, summary in ATTACKS.values():
        log.append(kind, {"path": "\x1b]0;owned\x07\x9b31m"}, actor=actor, summary=summary)
    ids = {e.id for e in log}
    log.close()
    assert len(ids) == 2 * len(ATTACKS)

    listing = subprocess.run([FAME, "--data-dir", str(data_dir), "audit", "--limit", "50"],
                             capture_output=True, timeout=180, check=False)  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    text = listing.stdout.decode("utf-8")
    assert not RAW_CONTROL.search(text), repr(RAW_CONTROL.search(text))
    lines = text.splitlines()
    # One line per entry, each starting with a real id: no line was forged.
    assert len(lines) == len(ids)
    assert {int(re.match(r"#(\d+) ", line).group(1)) for line in lines} == ids  # type: ignore[union-attr]
    assert not any(line.startswith("#9999") for line in lines)
    assert sum("\\x1b[2K#9999" in line for line in lines) == 2  # shown, but visibly as an escape
    assert sum("evil\\n#9999" in line for line in lines) == 2

    as_json = subprocess.run([FAME, "--data-dir", str(data_dir), "audit", "--json", "--limit", "50"],
                             capture_output=True, timeout=180, check=False)  # fmt: skip
    assert as_json.returncode == 0
    raw_json = as_json.stdout.decode("utf-8")
    assert not RAW_CONTROL.search(raw_json)
    entries = json.loads(raw_json)
    # JSON escapes are lossless: the first-format rows read back exactly as stored.
    first = {e["id"]: e for e in entries if e["id"] <= len(ATTACKS)}
    assert [(e["kind"], e["actor"], e["summary"]) for _, e in sorted(first.items())] == list(ATTACKS.values())
    assert all(e["data"]["path"] == "\x1b]0;owned\x07\x9b31m" for e in entries)


def test_escaping_helpers_leave_ordinary_text_alone() -> None:
    text = "Write a function — 안녕하세요 ✔ C:\\path\\x1b stays"
    assert escape_controls(text) is text
    assert escape_controls("a\r\nb\x1b[0m\x9b\u202e") == "a\\r\\nb\\x1b[0m\\x9b\\u202e"
    assert json.loads(safe_json({"k": "\x85\u2028é"}, indent=None)) == {"k": "\x85\u2028é"}
    assert "\x85" not in safe_json({"k": "\x85"})
