"""Settings changed by another FAME process on the same data dir reach this one within a second.

The CLI, the window and ``fame serve`` each keep their own :class:`SettingsStore`. A task on the
running event loop polls the settings file's identity (inode, size, mtime: one ``stat``, no read)
four times a second; when another process wrote it, the store reloads it (the admin signature
checked as at start) and publishes ``SettingsChanged``, so the status bar, the settings dialog and
the API follow. Polling costs about 10 µs a tick and needs no file-watching dependency; it also
works where inotify does not (network drives, containers' bind mounts).
"""

from __future__ import annotations

import asyncio
import logging

from fame_desktop.orchestrator.settings import SettingsStore

log = logging.getLogger("fame.settings")

POLL_SECONDS = 0.25


async def watch_settings(store: SettingsStore, interval: float = POLL_SECONDS) -> None:
    """Reload ``store`` whenever another process changes its file; runs until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            store.reload_if_changed()
        except Exception:  # a subscriber's or the disk's failure must not end the watch
            log.exception("could not reload the settings file %s", store.path)
