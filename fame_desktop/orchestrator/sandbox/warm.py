"""The sandbox's warm pool for the current settings: containers pre-started with the pool's limits.

A run takes one only when its limits give the same container as the pool's (memory, CPUs,
processes, /tmp size, network); other runs start a fresh container. When the pool size or the
limits change in the settings, a new pool replaces the old one and the old one is handed back to
be emptied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypedDict

from fame_desktop.orchestrator.sandbox.containers import Containers, Prestarted
from fame_desktop.orchestrator.sandbox.limits import Limits
from fame_desktop.orchestrator.sandbox.pool import BurstMemory, Refill, WarmPool


class PoolStatus(TypedDict):
    """The pool's part of the sandbox status."""

    size: int
    target: int
    ready: int
    error: str


class WarmContainers:
    """Holds the :class:`.pool.WarmPool` of the current pool size and limits.

    Args:
        containers: Where pool containers are created and removed.
        ready: Whether the engine is usable now (the pool waits while it is not).
        quiet: Whether a refill would slow no run now (the pool waits while it would).
        size: Containers to keep ready.
        limits: The limits pool containers are made with.
        refill: When the pool refills (see :class:`.pool.Refill`).
        memory: Where the longest burst is remembered across starts (see :class:`.pool.BurstMemory`).
    """

    def __init__(
        self,
        containers: Containers,
        ready: Callable[[], bool],
        quiet: Callable[[], bool],
        size: int,
        limits: Limits,
        refill: Refill = Refill.AHEAD,
        memory: BurstMemory | None = None,
    ) -> None:
        self._containers = containers
        self._memory = memory
        self._ready = ready
        self._quiet = quiet
        self._refill = refill
        self._lock = threading.Lock()
        self._limits = limits
        self._pool = self._new_pool(size)
        self._enabled = False

    def _new_pool(self, size: int) -> WarmPool[Prestarted]:
        return WarmPool(
            size,
            self._create,
            self._containers.discard,
            self._ready,
            quiet=self._quiet,
            refill=self._refill,
            memory=self._memory,
        )

    def _create(self) -> Prestarted:
        with self._lock:
            limits = self._limits
        return self._containers.create_started(limits)

    def replace(self, size: int, limits: Limits) -> WarmPool[Prestarted]:
        """Use a new, not yet started pool of ``size`` containers with ``limits``; the old pool."""
        with self._lock:
            old = self._pool
            self._limits = limits
            self._pool = self._new_pool(size)
        return old

    def take(self, limits: Limits) -> Prestarted | None:
        """A started container for a run with ``limits``; None when it must start a fresh one."""
        with self._lock:
            if limits.container_key() != self._limits.container_key():
                return None
            pool = self._pool
        container = pool.take()
        if self._enabled:
            pool.start()  # a run came before the start-up delay ended
        return container

    def enable(self) -> None:
        """The sandbox started: a run may start the filling before the start-up delay ends."""
        self._enabled = True

    def start(self) -> None:
        """Begin (or go on) filling the current pool in the background."""
        self._pool.start()

    def wake(self) -> None:
        """Try again now (the engine came back)."""
        self._pool.wake()

    def close(self) -> list[Prestarted]:
        """Stop filling; the idle containers, for the caller to remove."""
        return self._pool.close()

    def status(self) -> PoolStatus:
        """Size (the setting), target (more after bursts), containers ready now, last error."""
        pool = self._pool
        return {"size": pool.size, "target": pool.target, "ready": pool.idle, "error": pool.last_error}
