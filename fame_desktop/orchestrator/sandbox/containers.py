"""Creating and removing the hardened, labelled containers that runs and the warm pool use.

Blocking; called from worker threads. Every container made here is remembered until it is
removed, so closing the sandbox can remove whatever a crash or a race left behind.
"""

from __future__ import annotations

import logging
import threading
import time
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
# A used container is removed once the runs leave the engine alone, but no later than this: it
# has stopped (its runner ended, taking the program's leftovers with it), so waiting costs only
# its disk layer, while removing it next to a run slows that run.
REMOVE_DEFER_MAX_S = 10.0
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
        self._closing = threading.Event()

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
            self._live.add(container)
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
        ready.attachment.close()
        self.remove_now(ready.id, engine)

    def discard_later(self, ready: Prestarted) -> None:
        """Remove a pool container that will not be used, in the background."""
        ready.attachment.close()
        self.remove_later(ready.id)

    def remove_later(self, container: str) -> None:
        """Remove ``container`` in the background once the engine is quiet (at once when closing)."""
        try:
            self._cleaner.submit(self._remove_when_quiet, container)
        except RuntimeError:  # shutting down: remove in this thread
            self.remove_now(container)

    def _remove_when_quiet(self, container: str) -> None:
        deadline = time.monotonic() + REMOVE_DEFER_MAX_S
        while not self._quiet() and time.monotonic() < deadline:
            if self._closing.wait(_POLL_S):
                break
        self.remove_now(container)

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
            leftovers = list(self._live)
        for container in leftovers:
            self.remove_now(container)
