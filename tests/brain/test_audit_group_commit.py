"""Appends from many threads and coroutines share commits, and every returned entry is durable."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from crash_writer import committed_then_killed

from fame_desktop.orchestrator.audit import AuditEntry, AuditLog

ASYNC_WRITER = """
import asyncio, sys
from pathlib import Path
from fame_desktop.orchestrator.audit import AuditLog

async def worker(log, who):
    i = 0
    while True:
        entry = await log.append_async("burst", {"who": who, "n": i}, actor="writer", summary=f"{who} {i}")
        # Printed only after the await returned, i.e. after COMMIT.
        sys.stdout.write(f"{entry.id}\\n")
        sys.stdout.flush()
        i += 1

async def main():
    log = AuditLog(Path(sys.argv[1]))
    await asyncio.gather(*(worker(log, w) for w in range(16)))

asyncio.run(main())
"""


def test_threads_appending_at_once_get_one_valid_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    got: list[AuditEntry] = []
    lock = threading.Lock()

    def work(who: int) -> None:
        for i in range(150):
            entry = log.append("t", {"who": who, "i": i}, actor=f"t{who}")
            with lock:
                got.append(entry)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(e.id for e in got) == list(range(1, 16 * 150 + 1))
        stored = {e.id: e for e in log}
        assert all(stored[e.id].data == e.data and stored[e.id].hash == e.hash for e in got)
        result = log.verify()
        assert result.ok, result.problem
        # Every thread a commit woke was counted down when it ran: a count left over would make
        # every later leader wait for threads that never come (see AuditLog._let_woken_run).
        assert log._woken == 0 and log._gate is None
        assert log.commits < 16 * 150  # the threads shared commits
    finally:
        log.close()


def test_coroutines_share_commits_and_each_gets_its_committed_entry(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    seen: list[tuple[int, int]] = []
    log = AuditLog(db, on_append=lambda e: seen.append((e.id, threading.get_ident())))

    async def main() -> list[AuditEntry]:
        return list(
            await asyncio.gather(*(log.append_async("c", {"n": n}, summary=f"n{n}") for n in range(400)))
        )

    try:
        entries = asyncio.run(main())
        assert sorted(e.id for e in entries) == list(range(1, 401))
        assert all(e.summary == f"n{e.data['n']}" for e in entries)
        # Shared: far fewer transactions than entries.
        assert log.commits <= 100, log.commits
        # Listeners ran on the caller's (event loop) thread, once per entry.
        assert sorted(i for i, _ in seen) == list(range(1, 401))
        assert {t for _, t in seen} == {threading.get_ident()}
        with sqlite3.connect(db) as other:  # committed, visible to any other reader
            assert other.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 400
        assert log.verify().ok
    finally:
        log.close()


def test_a_cancelled_waiter_does_not_unwrite_its_entry(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")

    async def main() -> None:
        task = asyncio.ensure_future(log.append_async("c", {"cancel": True}))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.sleep(0)
        await log.append_async("c", {"after": True})  # FIFO: the cancelled one is committed before

    try:
        asyncio.run(main())
        assert [e.data for e in log] == [{"cancel": True}, {"after": True}]
    finally:
        log.close()


def test_kill_9_during_concurrent_async_appends_loses_no_committed_entry(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    committed = committed_then_killed(ASYNC_WRITER, db, 3000)

    log = AuditLog(db)
    try:
        assert log.integrity.ok, log.integrity.problem
        result = log.verify()
        assert result.ok, result.problem
        ids = {e.id for e in log}
        assert set(committed) <= ids
    finally:
        log.close()


def test_coroutines_appending_in_one_loop_turn_share_one_commit(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")

    async def main() -> list[AuditEntry]:
        # gather starts every task in the same loop turn: their entries reach the writer together.
        return list(await asyncio.gather(*(log.append_async("c", {"n": n}) for n in range(200))))

    try:
        before = log.commits
        entries = asyncio.run(main())
        assert log.commits - before == 1
        assert [e.data["n"] for e in sorted(entries, key=lambda e: e.id)] == list(range(200))
        assert log.verify().ok
    finally:
        log.close()


def test_threads_and_coroutines_appending_at_once_hand_the_lead_on(tmp_path: Path) -> None:
    # Threads wait on their own batch and are handed the lead one at a time; the writer thread
    # commits the coroutines' batches. Mixed, every append returns its committed entry, and the
    # commits are shared (fewer transactions than entries).
    log = AuditLog(tmp_path / "audit.sqlite3")
    got: list[AuditEntry] = []
    lock = threading.Lock()

    def work(who: int) -> None:
        for i in range(100):
            entry = log.append("t", {"who": who, "i": i})
            with lock:
                got.append(entry)

    async def coroutines() -> list[AuditEntry]:
        async def one(who: int) -> list[AuditEntry]:
            return [await log.append_async("c", {"who": who, "i": i}) for i in range(100)]

        return [e for batch in await asyncio.gather(*(one(w) for w in range(8))) for e in batch]

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    from_loop = asyncio.run(coroutines())
    for t in threads:
        t.join()
    try:
        everything = got + from_loop
        assert sorted(e.id for e in everything) == list(range(1, 1601))
        stored = {e.id: e for e in log}
        assert all(stored[e.id] == e for e in everything)
        assert log.commits < 1600
        assert log.verify().ok
    finally:
        log.close()
