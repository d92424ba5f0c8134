"""``fame serve`` leaves its start-up objects out of later garbage collections, garbage excepted,
and collects the young generation less often.

Run in a fresh interpreter: freezing is for the whole process, and the test process must keep
collecting what its other tests leave behind.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import gc, sys, tempfile, weakref
    from pathlib import Path
    from fame_desktop.api.server import SERVING_GC_THRESHOLD, create_api, tune_gc_for_serving
    from fame_desktop.app import build_app

    app = build_app(Path(tempfile.mkdtemp()))
    create_api(app)

    class Node:
        pass

    # Garbage that only the collector can free (a cycle), made before the freeze.
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    live = Node()
    older = gc.get_threshold()[1:]
    frozen = tune_gc_for_serving()
    assert gone() is None, "garbage was frozen instead of collected"
    assert gc.is_tracked(live) and frozen == gc.get_freeze_count() > 10_000, frozen
    assert gc.get_threshold() == (SERVING_GC_THRESHOLD, *older)
    # Later objects are still collected as usual.
    c, d = Node(), Node()
    c.other, d.other = d, c
    later = weakref.ref(c)
    del c, d
    gc.collect()
    assert later() is None
    app.services.close()
    print("ok", frozen)
    """
)


def test_freeze_keeps_garbage_out_and_later_objects_collectable() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok ")
