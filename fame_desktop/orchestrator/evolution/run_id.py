"""Evolution run ids, in a module of their own: the window makes one per run it starts without
importing the cycle's machinery (population, mutation, code generation)."""

from __future__ import annotations

import os
import time


def new_run_id() -> str:
    """``evo-<utc time>-<random>``: sortable and unique across processes."""
    return time.strftime("evo-%Y%m%d-%H%M%S-", time.gmtime()) + os.urandom(3).hex()
