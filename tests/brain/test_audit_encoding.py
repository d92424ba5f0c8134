"""What the audit writes is what it wrote before: the same data text, the same MAC bytes, one chain.

The data text of a plain entry is written by orjson instead of ``json``, and rows go in with one
INSERT of many rows instead of one each. These tests check that nothing stored changed: orjson's
text equals json's for every value the fast path takes, a log whose rows were written the old way
(json text, one row per INSERT, the documented MAC layout) verifies and is continued, entries
handed back equal the rows read back, and a kill -9 during big batches loses no committed entry.
"""

from __future__ import annotations

import gc
import json
import math
import os
import sqlite3
import threading
import time
from pathlib import Path

import orjson
import pytest
from crash_writer import committed_then_killed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fame_desktop.orchestrator import audit as audit_module
from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.audit_kinds import AuditKind
from fame_desktop.orchestrator.audit_trust import entry_material, key_file, mac_state, read_key
from fame_desktop.orchestrator.redaction import json_plain, redact, redact_plain

# json as the audit has always written data (the reference for the stored bytes).
OLD_ENCODE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":")).encode

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "é", "한국어", '"quoted"', "back\\slash", "tab\tnew\nline", "\x00\x1f\x7f\u2028\u2029", "\U0001f600"]
)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=-1e-3, max_value=1e-3), _text,
)  # fmt: skip
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_text, inner, max_size=4),
    ),
    max_leaves=14,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_text, _values, max_size=5))
def test_the_fast_encoder_writes_what_json_writes(value: dict[str, object]) -> None:
    plain = redact_plain(value)
    if plain is None:
        return
    assert audit_module._encode_plain(plain) == OLD_ENCODE(redact(value))


_secretish = st.sampled_from(
    ["token", "password", "fame_" + "k" * 30, "call +44 20 7946 0958", "api:4020889d4f14"]
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_text | _secretish, _values | _secretish, max_size=5))
def test_redacted_data_is_written_as_json_writes_it(value: dict[str, object]) -> None:
    # Data the screen sends down the full walk (a secret, or seven digits in a fingerprint) is
    # written by orjson too when what the walk gives is plain: the same text json wrote.
    redacted = redact(value, max_chars=40)
    if not json_plain(redacted):
        return
    assert audit_module._encode_plain(redacted) == OLD_ENCODE(redacted)


def test_an_entry_whose_screen_fails_stores_what_it_always_stored(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.db")
    data = {"key_fingerprint": "4020889d4f14", "client": "127.0.0.1", "note": "my password is hunter2xyz"}
    entry = log.append(AuditKind.API_REQUEST, data, actor="api:4020889d4f14", summary="POST /query -> 200")
    assert entry._text == OLD_ENCODE(redact(data, max_chars=log._max))
    assert "hunter2xyz" not in entry._text and entry.data["key_fingerprint"] == "4020889d4f14"
    assert log.verify().ok
    log.close()


@settings(max_examples=2000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_orjson_writes_every_float_the_fast_path_takes_as_json_does(number: float) -> None:
    if number != 0 and abs(number) < 1e-4:
        assert redact_plain({"n": number}) is None  # json writes these as 1e-05, orjson as 0.00001
        return
    assert orjson.dumps(number).decode() == OLD_ENCODE(number)
    assert orjson.loads(orjson.dumps(number)) == number or math.isnan(number)


Item = tuple[AuditKind, dict[str, object], str | None, str]


def _old_rows(key: bytes, items: list[Item], first: int, prev: str) -> list[
    tuple[int, float, str, str | None, str, str, str, str]
]:  # fmt: skip
    """Rows as the audit wrote them until now: json text, MAC over the documented layout."""
    state = mac_state(key)
    rows: list[tuple[int, float, str, str | None, str, str, str, str]] = []
    for n, (kind, data, actor, summary) in enumerate(items, first):
        ts = time.time()
        text = OLD_ENCODE(data)
        mac = state.copy()
        mac.update(entry_material(n, ts, kind, actor, summary, text, prev))
        rows.append((n, ts, kind, actor, summary, text, prev, mac.hexdigest()))
        prev = rows[-1][-1]
    return rows


SAMPLES: list[Item] = [
    (AuditKind.QUERY, {"text": "what is 12 * 12", "intent": "calculate", "ms": 1.25}, "api:3f9a2c71", "query 1"),
    (AuditKind.QUERY, {"text": "é 한국어 \U0001f600", "n": [1, 2.5, None, True], "deep": {"b": 1, "a": {"z": 0.0001}}}, None, "s"),
    (AuditKind.ROUTING, {"tiny": 1e-05, "big": 2**70, "neg": -0.0, "e": 1e16}, "cli", "weird numbers"),
    (AuditKind.PLUGIN_RESULT, {"quote": 'say "hi"\\n', "ctl": "a\x01b"}, "ui:alice", "controls"),
]  # fmt: skip


def test_a_log_written_the_old_way_verifies_and_is_continued(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    AuditLog(db).close()  # schema, key and checkpoint as the log makes them
    key = read_key(key_file(db))
    assert key is not None
    rows = _old_rows(key, SAMPLES, 1, "0" * 64)
    with sqlite3.connect(db) as raw:
        raw.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    log = AuditLog(db)  # the checkpoint says 0 entries: rows after it are checked on opening
    try:
        assert log.integrity.ok, log.integrity.problem
        # Today's writer stores the same data text for the same entries, and continues the chain.
        written = log.append_many(SAMPLES)
        assert [e.id for e in written] == [5, 6, 7, 8]
        assert written[0].prev_hash == rows[-1][-1]
        stored = [r.data for r in log.query(newest_first=False, limit=-1)]
        assert stored[:4] == stored[4:]
        with sqlite3.connect(db) as raw:
            texts = [t for (t,) in raw.execute("SELECT data FROM entries ORDER BY id")]
        assert texts[:4] == texts[4:] == [row[5] for row in rows]
        result = log.verify()
        assert result.ok and result.checked == 8, result.problem
    finally:
        log.close()


def test_entries_handed_back_are_the_rows_read_back(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    try:
        handed = log.append_many(
            [*SAMPLES, (AuditKind.QUERY, {"z": 1, "a": {"y": [1, {"c": 2, "b": 3}]}}, "x", "order")]
        )
        for entry in handed:
            (read,) = log.query(text=None, since=entry.ts, until=entry.ts, limit=1)
            assert read == entry
            assert json.dumps(read.data) == json.dumps(entry.data)  # key order too
            assert type(entry.kind) is str
    finally:
        log.close()


@pytest.mark.parametrize("size", [1, 3, 4, 17, 64, 255, 256, 257, 600])
def test_every_batch_size_commits_every_entry_in_order(tmp_path: Path, size: int) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    try:
        first = log.append(AuditKind.QUERY, {"n": -1})
        entries = log.append_many([(AuditKind.QUERY, {"n": i}, "bench", f"entry {i}") for i in range(size)])
        assert [e.id for e in entries] == list(range(2, size + 2))
        assert [e.prev_hash for e in entries] == [first.hash] + [e.hash for e in entries[:-1]]
        assert [e.data["n"] for e in log.query(newest_first=False, limit=-1)] == list(range(-1, size))
        assert log.verify().ok
    finally:
        log.close()


WRITER = """
import sys
from pathlib import Path
from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.audit_kinds import AuditKind
log = AuditLog(Path(sys.argv[1]))
i = 0
while True:
    batch = [("burst", {"n": i + k, "pad": "x" * 50}, "writer", f"entry {i + k}") for k in range(333)]
    last = log.append_many(batch)[-1]
    sys.stdout.write(f"{last.id}\\n")  # only after append_many returned, i.e. after COMMIT
    sys.stdout.flush()
    i += 333
"""


def test_kill_9_during_big_batches_loses_no_committed_entry(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    committed = committed_then_killed(
        WRITER, db, 30, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    )
    log = AuditLog(db)
    try:
        result = log.verify()
        assert result.ok, result.problem
        assert len(log) >= committed[-1] and len(log) % 333 == 0  # whole batches only: all or none
        assert log[committed[-1] - 1].data["n"] == committed[-1] - 1
    finally:
        log.close()


def test_big_batches_leave_the_garbage_collector_as_they_found_it(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    big = [(AuditKind.QUERY, {"n": i}, "bench", f"entry {i}") for i in range(1500)]
    try:
        assert gc.isenabled()
        workers = [threading.Thread(target=log.append_many, args=(big,)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert gc.isenabled()  # four batches paused it at once: the last one turned it back on
        gc.disable()
        try:
            log.append_many(big)
            assert not gc.isenabled()  # it was off before: it stays off
        finally:
            gc.enable()
        assert len(log) == 5 * 1500 and log.verify().ok
    finally:
        log.close()


def test_an_entry_parses_its_data_once_and_lacks_nothing_else(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    try:
        entry = log.append(AuditKind.QUERY, {"b": [1, 2], "a": "x"}, actor="cli", summary="s")
        assert entry.data is entry.data  # parsed on first use, then kept
        assert list(entry.data) == ["a", "b"]
        assert entry.to_dict()["data"] == {"a": "x", "b": [1, 2]}
        with pytest.raises(AttributeError):
            _ = entry.missing  # type: ignore[attr-defined]
    finally:
        log.close()
