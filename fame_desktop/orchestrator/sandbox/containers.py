"""Creating and removing the hardened, labelled containers that runs and the warm pool use.

Blocking; called from worker threads. Every container made here is remembered until it is
removed, so closing the sandbox can remove whatever a crash or a race left behind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from fame_desktop.orchestrator.sandbox.container_run import Attachment, attach
from fame_desktop.orchestrator.sandbox.engine import LABEL, OWNER_LABEL, Engine
from fame_desktop.orchestrator.sandbox.limits import Limits, container_config, host_config

log = logging.getLogger("fame.sandbox")

# A removal that fails for another reason than "no such container" is tried again this often.
REMOVE_ATTEMPTS = 3
REMOVE_RETRY_S = 0.2
# A used container is removed once the runs leave the engine alone, but no later than this:
# removing it next to a run slows that run. Until then its runner lingers (the program's
# leftovers ended, about 8 MB with the engine's shim), waiting for its stdin to close: a
# container that stops tears down next to the run that follows, which slowed that run by a
# third on two cores.
REMOVE_DEFER_MAX_S = 10.0
# At most this many used containers linger; beyond that the oldest is let go (it stops by itself).
LINGER_MAX = 24
_POLL_S = 0.005


@dataclass
class Prestarted:
    """A started pool container whose stdio was attached before it started: a run on it makes no
    engine call (it writes the code into ``attachment`` and reads the output back)."""

    id: str
    attachment: Attachment


class Containers:
    """Makes single-use sandbox containers on the current engine and removes them.

    Args:
        engine: Returns the engine to use now (it changes when the settings name another one).
        owner: This process's owner label (see :func:`.engine.owner_id`), for reaping.
        quiet: Whether the engine can remove a used container now without slowing a run.
    """

    def __init__(
        self, engine: Callable[[], Engine], owner: str, quiet: Callable[[], bool] = lambda: True
    ) -> None:
        self._engine = engine
        self._owner = owner
        self._quiet = quiet
        self._cleaner = ThreadPoolExecutor(2, thread_name_prefix="fame-sandbox-rm")
        self._lock = threading.Lock()
        self._live: set[str] = set()  # created here and not removed yet
        self._lingering: deque[Attachment] = deque()  # of used containers waiting for removal
        self._closing = threading.Event()
        self._closed = False  # close() has listed the containers it removes

    def create(self, limits: Limits, *, pooled: bool) -> str:
        """Create (not start) a container for ``limits``; its id.

        Raises:
            docker.errors.DockerException: The engine refused or is gone.
        """
        engine = self._engine()
        api = engine.api()
        labels = {LABEL: "1", OWNER_LABEL: self._owner, "fame.sandbox.kind": "warm" if pooled else "cold"}
        config = container_config(limits, engine.image, labels)
        created = api.create_container(host_config=api.create_host_config(**host_config(limits)), **config)
        container = str(created["Id"])
        with self._lock:
            # A container made after close() listed _live (a pool refill racing the close) would
            # be left behind: it goes at once instead.
            closing = self._closed
            if not closing:
                self._live.add(container)
        if closing:
            self.remove_now(container)
            raise RuntimeError("The sandbox is closing.")
        return container

    def create_started(self, limits: Limits) -> Prestarted:
        """Create a pool container, attach its stdio, then start it (its runner waits for code).

        Raises:
            docker.errors.DockerException: The engine refused or is gone (nothing is left behind).
        """
        container = self.create(limits, pooled=True)
        try:
            api = self._engine().api()
            attachment = attach(api, container)
        except Exception:
            self.remove_now(container)
            raise
        try:
            api.start(container)
        except Exception:
            attachment.close()
            self.remove_now(container)
            raise
        return Prestarted(container, attachment)

    def discard(self, ready: Prestarted, engine: Engine | None = None) -> None:
        """Remove a pool container that will not be used, now (blocking, never raises)."""
        self.remove_now(ready.id, engine)
        ready.attachment.close()

    def discard_later(self, ready: Prestarted) -> None:
        """Remove a pool container that will not be used, in the background."""
        self.remove_later(ready.id, ready.attachment)

    def remove_later(self, container: str, attachment: Attachment | None = None) -> None:
        """Remove ``container`` in the background once the engine is quiet (at once when closing).

        ``attachment``, its stdio, keeps its runner waiting until then; it is closed after the
        removal (closing it first would race the container's own exit against the removal).
        """
        if attachment is not None:
            with self._lock:
                self._lingering.append(attachment)
                oldest = self._lingering.popleft() if len(self._lingering) > LINGER_MAX else None
            if oldest is not None:
                oldest.close()
        try:
            self._cleaner.submit(self._remove_when_quiet, container, attachment)
        except RuntimeError:  # shutting down: remove in this thread
            self._remove(container, attachment)

    def _remove_when_quiet(self, container: str, attachment: Attachment | None) -> None:
        deadline = time.monotonic() + REMOVE_DEFER_MAX_S
        while not self._quiet() and time.monotonic() < deadline:
            if self._closing.wait(_POLL_S):
                break
        self._remove(container, attachment)

    def _remove(self, container: str, attachment: Attachment | None) -> None:
        self.remove_now(container)
        if attachment is not None:
            attachment.close()
            with self._lock:
                if attachment in self._lingering:
                    self._lingering.remove(attachment)

    def remove_now(self, container: str, engine: Engine | None = None) -> None:
        """Force-remove ``container`` (from ``engine``, default the current one); never raises."""
        for attempt in range(REMOVE_ATTEMPTS):
            try:
                (engine or self._engine()).api().remove_container(container, force=True)
                break
            except Exception as exc:  # start-up reaping catches what is left after the retries
                # The engine refuses a forced removal racing the container's own exit ("is not
                # running") and leaves it "Removal In Progress"; asking again removes it.
                # Only then: not when it is gone (404) or the engine does not answer at all.
                status = getattr(getattr(exc, "response", None), "status_code", None)
                log.debug("remove %s (attempt %d): %s", container[:12], attempt + 1, exc)
                if status is None or status == 404 or attempt + 1 == REMOVE_ATTEMPTS:
                    break
                time.sleep(REMOVE_RETRY_S)
        with self._lock:
            self._live.discard(container)

    def hurry(self) -> None:
        """Remove at once from now on (the sandbox is closing)."""
        self._closing.set()

    def close(self) -> None:
        """Finish the pending removals, then remove every container still known (blocking)."""
        self._closing.set()
        self._cleaner.shutdown(wait=True)
        with self._lock:
            self._closed = True
            leftovers = list(self._live)
        for container in leftovers:
            self.remove_now(container)
