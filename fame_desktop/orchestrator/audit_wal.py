"""Moving the audit log's write-ahead log into the database file on a thread of its own.

In WAL mode a commit appends pages to the ``-wal`` file; a *WAL checkpoint* (SQLite's term, unrelated
to the signed :mod:`audit_trust` checkpoint) copies them into the database file so the WAL can start
over. By default the committing connection does that itself every 1,000 pages, inside the commit that
crosses the mark: with ``synchronous=NORMAL`` it fsyncs the WAL and the database file (3-4 ms each
here), and the entries waiting on that commit wait for it. Measured on single-entry commits: 36-41 us
per commit with the commit doing it, 22-23 us without.

:class:`WalCheckpointer` does it on its own connection and thread instead (a PASSIVE checkpoint:
it never blocks a commit or a reader). Durability is unchanged: a commit is complete once its pages
are in the WAL; the checkpoint only moves them. The writing connection keeps an automatic checkpoint
at :data:`BACKSTOP_PAGES`, so the WAL stays bounded even if this thread falls behind.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("fame.audit")

#: WAL pages after which the background checkpoint runs (SQLite's own default mark).
EVERY_PAGES = 1000
#: The writing connection's own automatic checkpoint, reached only if the thread falls behind.
BACKSTOP_PAGES = 8000
# WAL pages a commit writes, estimated: the table's and both indexes' last leaf pages, plus one page
# per ~14 entries (an entry's row is ~250-300 bytes, a page 4 KiB). Only when the checkpoint runs
# depends on it.
_PAGES_PER_COMMIT = 3
_ENTRIES_PER_PAGE = 14


class WalCheckpointer:
    """Runs PASSIVE WAL checkpoints on a thread of its own, about every :data:`EVERY_PAGES` pages.

    Args:
        connect: Opens a new connection to the log (the thread's own, used by nothing else).
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._due = threading.Event()
        self._running = threading.Lock()  # held while a checkpoint runs (see paused)
        self._closing = False
        self._thread: threading.Thread | None = None
        self._pages = 0  # estimated pages written since the last checkpoint was asked for

    def committed(self, entries: int) -> None:
        """Count a commit of ``entries`` entries (called by the one thread committing at a time)."""
        self._pages += _PAGES_PER_COMMIT + entries // _ENTRIES_PER_PAGE
        if self._pages < EVERY_PAGES or self._closing:
            return
        self._pages = 0
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fame-audit-wal", daemon=True)
            self._thread.start()
        self._due.set()

    def _run(self) -> None:
        db = self._connect()
        try:
            while True:
                self._due.wait()
                self._due.clear()
                if self._closing:
                    return
                try:
                    with self._running:
                        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # the backstop checkpoint still bounds the WAL
                    # Another process checkpointing the same log at that moment is no fault.
                    busy = "locked" in str(exc) or "busy" in str(exc)
                    log.log(
                        logging.DEBUG if busy else logging.WARNING, "audit WAL checkpoint failed: %s", exc
                    )
        finally:
            db.close()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No checkpoint runs inside this block.

        A long log's verify forks: a child forked while this thread is inside SQLite could inherit
        one of SQLite's locks held, and hang until the verify gives up on it.
        """
        with self._running:
            yield

    def close(self) -> None:
        """Stop the thread (closing the log's last connection checkpoints what is left)."""
        self._closing = True
        self._due.set()
        if self._thread is not None:
            self._thread.join()
