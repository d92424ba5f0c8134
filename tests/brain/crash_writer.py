"""What the crash tests of the audit log share: a writer process killed with SIGKILL mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def committed_then_killed(writer: str, db: Path, count: int, env: dict[str, str] | None = None) -> list[int]:
    """Run ``python -c writer db``, which prints one number per committed entry (or batch); read
    ``count`` of them (at most 60 s), SIGKILL it mid-write, and return the numbers read."""
    proc = subprocess.Popen(
        [sys.executable, "-c", writer, str(db)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    committed: list[int] = []
    deadline = time.monotonic() + 60
    while len(committed) < count and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        committed.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    assert len(committed) >= count, "the writer did not get going"
    return committed
