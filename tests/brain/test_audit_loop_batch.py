"""Group commit for coroutines: coroutines of one loop turn share a commit, each gets its own
entries back only once they are committed, a failed commit fails every caller of that turn, and
the loop commits itself when the log is free but keeps running (the writer thread waits) while
another process holds the audit lock, and the window's loop never commits itself."""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from fame_desktop.orchestrator.audit import AuditError, AuditLog
from fame_desktop.orchestrator.audit_batch import LoopAuditBatch
from fame_desktop.orchestrator.audit_kinds import AuditKind


def _committed_ids(path: Path) -> set[int]:
    """The ids another connection sees: what is committed, not what this process holds."""
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT id FROM entries")}


async def test_concurrent_appends_share_one_commit_and_get_their_own_entries(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    batch = LoopAuditBatch(log)
    commits_before = log.commits

    async def one(n: int) -> list[int]:
        entries = await batch.append_many(
            [
                (AuditKind.QUERY, {"n": n}, "test", f"query {n}"),
                (AuditKind.QUERY_COMPLETED, {"n": n}, "test", f"done {n}"),
            ]
        )
        # Resumed only after the commit: another connection sees both rows.
        assert {e.id for e in entries} <= _committed_ids(log.path)
        assert [e.data["n"] for e in entries] == [n, n]
        assert [e.kind for e in entries] == [AuditKind.QUERY, AuditKind.QUERY_COMPLETED]
        return [e.id for e in entries]

    results = await asyncio.gather(*(one(n) for n in range(20)))
    assert log.commits - commits_before == 1 and batch.commits == 1
    ids = [i for pair in results for i in pair]
    assert len(set(ids)) == 40
    # Each caller's entries are consecutive and in the order given.
    assert all(b == a + 1 for a, b in results)
    assert log.verify().ok
    log.close()


async def test_appends_of_later_turns_get_later_commits(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    batch = LoopAuditBatch(log)
    first = await batch.append(AuditKind.QUERY, {"n": 1}, actor="test", summary="one")
    second = await batch.append(AuditKind.QUERY, {"n": 2}, actor="test", summary="two")
    assert second.id == first.id + 1 and batch.commits == 2
    assert await batch.append_many([]) == []
    log.close()


async def test_a_cancelled_caller_still_has_its_entry_written(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    batch = LoopAuditBatch(log)
    task = asyncio.ensure_future(batch.append(AuditKind.QUERY, {"n": 1}, actor="test", summary="kept"))
    await asyncio.sleep(0)  # queued, not yet committed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    batch.close()  # waits for the commit under way
    assert [e.summary for e in log.query(limit=5)] == ["kept"]
    log.close()


async def test_the_loop_keeps_running_while_a_commit_waits_for_the_audit_lock(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    batch = LoopAuditBatch(log)
    # Another process committing holds the checkpoint lock (an flock on its own open file).
    holder = (tmp_path / "audit.checkpoint").open("rb")
    fcntl.flock(holder, fcntl.LOCK_EX)
    threading.Timer(0.5, lambda: (fcntl.flock(holder, fcntl.LOCK_UN), holder.close())).start()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.ensure_future(tick())
    started = time.monotonic()
    entry = await batch.append(AuditKind.QUERY, {"n": 1}, actor="test", summary="after the lock")
    waited = time.monotonic() - started
    ticker.cancel()
    assert waited >= 0.45  # it did wait for the lock...
    assert ticks >= 10  # ...while the loop went on (on the loop itself: 0 ticks)
    assert entry.id in _committed_ids(log.path)
    batch.close()
    log.close()


def _batch_writers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("fame-audit-batch")]


async def test_a_free_log_is_committed_on_the_loop_without_a_writer_thread(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    batch = LoopAuditBatch(log)
    before = _batch_writers()
    entries = await asyncio.gather(
        *(batch.append(AuditKind.QUERY, {"n": n}, actor="test", summary=f"q{n}") for n in range(5))
    )
    # Committed before the callers resumed, in one commit, with no thread started for it.
    assert {e.id for e in entries} <= _committed_ids(log.path) and batch.commits == 1
    assert _batch_writers() == before
    assert log.verify().ok
    batch.close()
    log.close()


async def test_a_loop_that_commits_off_itself_uses_the_writer_thread(tmp_path: Path) -> None:
    """The window's loop (the Qt thread) never spends a commit's time."""
    log = AuditLog(tmp_path / "audit.sqlite3")
    batch = LoopAuditBatch(log)
    batch.commit_off(asyncio.get_running_loop())
    on: list[str] = []
    commit = log._commit_locked

    def spy(todo: list[object]) -> None:
        on.append(threading.current_thread().name)
        commit(todo)  # type: ignore[arg-type]

    log._commit_locked = spy  # type: ignore[method-assign]
    entry = await batch.append(AuditKind.QUERY, {"n": 1}, actor="test", summary="off the loop")
    assert entry.id in _committed_ids(log.path)
    assert len(on) == 1 and on[0].startswith("fame-audit-batch"), on
    batch.close()
    log.close()


def test_try_append_writes_nothing_while_another_process_commits(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    log.append(AuditKind.QUERY, {"n": 0}, actor="test", summary="first")
    holder = (tmp_path / "audit.checkpoint").open("rb")
    fcntl.flock(holder, fcntl.LOCK_EX)
    assert log.try_append_many([(AuditKind.QUERY, {"n": 1}, "test", "blocked")]) is None
    fcntl.flock(holder, fcntl.LOCK_UN)
    holder.close()
    entries = log.try_append_many([(AuditKind.QUERY, {"n": 2}, "test", "free")])
    assert entries is not None and [e.summary for e in entries] == ["free"]
    # Nothing of the refused attempt was written; the chain goes on from the first entry.
    assert [e.summary for e in log.query(limit=5)] == ["free", "first"]
    assert entries[0].id == 2 and log.verify().ok
    log.close()


async def test_a_failed_commit_fails_every_caller_of_the_turn(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    batch = LoopAuditBatch(log)
    log.close()  # appending to a closed log fails
    results = await asyncio.gather(
        *(batch.append(AuditKind.QUERY, {"n": n}, actor="test", summary="x") for n in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(r, AuditError) for r in results), results
    assert batch.commits == 0
    # The batcher keeps working for later turns once the log works again.
    log = AuditLog(tmp_path / "audit.sqlite3")
    batch = LoopAuditBatch(log)
    assert (await batch.append(AuditKind.QUERY, {}, actor="test", summary="after")).summary == "after"
    log.close()


async def test_an_entry_riding_along_joins_the_next_commit_or_gets_its_own(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    batch = LoopAuditBatch(log)
    # Alone, it waits for company that never comes, then is committed by itself.
    alone = await batch.append(
        AuditKind.API_REQUEST, {"n": 0}, actor="test", summary="alone", ride_along=True
    )
    assert alone.id in _committed_ids(log.path) and batch.commits == 1
    # Appended before another caller's entries, it goes in their commit.
    rider = asyncio.ensure_future(
        batch.append(AuditKind.API_REQUEST, {"n": 1}, actor="test", summary="rider", ride_along=True)
    )
    await asyncio.sleep(0)  # queued; no commit made for it
    assert batch.commits == 1
    driver = await batch.append(AuditKind.QUERY, {"n": 2}, actor="test", summary="driver")
    assert (await rider).id == driver.id - 1 and batch.commits == 2
    assert {driver.id - 1, driver.id} <= _committed_ids(log.path)
    assert log.verify().ok
    batch.close()
    log.close()


async def test_closing_commits_what_rides_along(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    batch = LoopAuditBatch(log)
    rider = asyncio.ensure_future(
        batch.append(AuditKind.API_REQUEST, {"n": 1}, actor="test", summary="rider", ride_along=True)
    )
    await asyncio.sleep(0)  # queued, waiting for company
    batch.close()  # the loop may never run its timer: the entry is committed now
    assert [e.summary for e in log.query(limit=5)] == ["rider"]
    assert (await rider).summary == "rider"
    log.close()


async def test_the_listener_hears_each_entry_on_the_loop_before_its_caller_resumes(tmp_path: Path) -> None:
    heard: list[tuple[str, bool]] = []
    loop_thread = threading.get_ident()
    log = AuditLog(
        tmp_path / "audit.sqlite3",
        on_append=lambda e: heard.append((e.summary, threading.get_ident() == loop_thread)),
    )
    batch = LoopAuditBatch(log)

    async def one(n: int) -> int:
        await batch.append(AuditKind.QUERY, {"n": n}, actor="test", summary=f"q{n}")
        assert (f"q{n}", True) in heard  # already told, on this thread, when the caller resumes
        return n

    assert await asyncio.gather(*(one(n) for n in range(20))) == list(range(20))
    assert sorted(s for s, _ in heard) == sorted(f"q{n}" for n in range(20))  # each once
    assert all(on_loop for _, on_loop in heard)
    batch.close()
    log.close()


def test_the_listener_hears_entries_whose_loop_closed(tmp_path: Path) -> None:
    heard: list[str] = []
    log = AuditLog(tmp_path / "audit.sqlite3", on_append=lambda e: heard.append(e.summary))
    batch = LoopAuditBatch(log)
    loop = asyncio.new_event_loop()

    async def rider() -> None:
        task = asyncio.ensure_future(
            batch.append(AuditKind.API_REQUEST, {"n": 1}, actor="test", summary="rider", ride_along=True)
        )
        await asyncio.sleep(0)  # queued, waiting for company that never comes
        task.cancel()

    loop.run_until_complete(rider())
    loop.close()
    batch.close()  # commits the rider: its loop is gone, the listener still hears of it
    assert heard == ["rider"]
    assert [e.summary for e in log.query(limit=5)] == ["rider"]
    log.close()
