"""Preparing the sandbox image from the app: one preparation at a time, on a worker thread,
with progress on the bus and cancellation (see :mod:`.images` for the pull and build)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from fame_desktop.orchestrator.events import SandboxImageProgress
from fame_desktop.orchestrator.sandbox.engine import Engine
from fame_desktop.orchestrator.sandbox.images import ImagePreparer, PrepareResult, Progress
from fame_desktop.orchestrator.sandbox.record import Publish


class ImagePreparation:
    """Runs :class:`.images.ImagePreparer` for the sandbox, one at a time.

    Args:
        publish: Where ``SandboxImageProgress`` events go (``EventBus.publish``; any thread).
    """

    def __init__(self, publish: Publish) -> None:
        self._publish = publish
        self._one_at_a_time = threading.Lock()

    async def prepare(
        self,
        engine: Engine,
        base_image: str,
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        then: Callable[[], None] = lambda: None,
    ) -> PrepareResult:
        """Pull ``base_image`` (when missing) and build ``engine``'s image (when missing or stale).

        ``then`` runs in the worker thread after the preparation (the caller probes the engine
        again there). Setting ``cancel``, or cancelling the awaiting task, aborts the pull or build.
        """
        cancel = cancel or threading.Event()
        future = asyncio.ensure_future(
            asyncio.to_thread(self._prepare_blocking, engine, base_image, progress, cancel, then)
        )
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            cancel.set()
            # Let the worker close its connection (that is what stops the engine's pull).
            await asyncio.wait({future}, timeout=10)
            raise

    def _prepare_blocking(
        self,
        engine: Engine,
        base_image: str,
        progress: Progress | None,
        cancel: threading.Event,
        then: Callable[[], None],
    ) -> PrepareResult:
        def publish(event: SandboxImageProgress) -> None:
            self._publish(event)
            if progress is not None:
                progress(event)

        with self._one_at_a_time:
            result = ImagePreparer(engine, base_image).prepare(publish, cancel)
        then()
        return result
