"""Start the window: QApplication + qasync loop + the app's services; and the ``--self-test``.

``fame`` (no subcommand) calls :func:`run_window`. With ``self_test`` the window opens offscreen
when there is no display, answers one query end to end through the real panes, checks that the
chat, the audit table (and the sandbox pane when code ran) updated, and exits 0, or 1 with the
reason, within about 30 s (plus the 10 s a user plugin may take to load).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger("fame.ui.launch")

SELF_TEST_TIMEOUT = 30.0
#: Environment variable: a file to write the time of the window's first paint to.
FIRST_PAINT_FILE = "FAME_FIRST_PAINT_FILE"


def _has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_window(data_dir: str | None, admin_key: str | None, self_test: bool) -> int:
    """Open the FAME window and run until it is closed; returns the process exit code."""
    if not _has_display() and not os.environ.get("QT_QPA_PLATFORM"):
        if not self_test:
            print(
                "fame: no display to open the window on.\n"
                "  fix: run it in a desktop session, set DISPLAY, or use `fame ask ...` / "
                "`fame --self-test` (offscreen).",
                file=sys.stderr,
            )
            return 2
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    # Only Qt before the first paint: the window's frame (menus, docks, the chat input) needs no
    # domain code. The app (its imports are most of a second) is loaded and built after it.
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from fame_desktop.orchestrator.paths import DataPaths
    from fame_desktop.ui.qt_main_window import QtMainWindow

    started = time.perf_counter()
    marks = {"imported": time.time()}  # for $FAME_FIRST_PAINT_FILE: where the time before the paint went
    qapp = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "fame"])
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName("FAME Desktop")
    qapp.setOrganizationName("FAME")
    # The window's own close ends the run (after cleanup); Qt must not stop the loop under us.
    qapp.setQuitOnLastWindowClosed(False)
    root = DataPaths.resolve(data_dir).root
    window = QtMainWindow(None, root=root)
    marks["built"] = time.time()
    window.first_paint.painted.connect(lambda: _first_painted(window.first_paint.painted_at, started, marks))
    window.show()
    marks["shown"] = time.time()
    log.info("window shown after %.0f ms", (time.perf_counter() - started) * 1000)
    # Paint before anything else loads (the first paint, or its fallback, ends the wait).
    while not window.first_paint.done:
        qapp.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)

    import asyncio

    from fame_desktop.ui.qt_loop import QtEventLoop, QtGarbageCollector

    loop = QtEventLoop(qapp)
    collector = QtGarbageCollector()
    asyncio.set_event_loop(loop)
    apps: list[Any] = []
    with loop:
        try:
            return int(loop.run_until_complete(_run(window, loop, data_dir, admin_key, self_test, apps)))
        finally:
            while apps:  # _run closes it; this only if _run was interrupted
                loop.run_until_complete(apps.pop().aclose())
            collector.stop()


async def _run(
    window: Any,
    loop: asyncio.AbstractEventLoop,
    data_dir: str | None,
    admin_key: str | None,
    self_test: bool,
    apps: list[Any],
) -> int:
    """Bring the app up under the painted window, run until it is closed (or the self-test ends),
    then close the app: one run of the loop throughout, so events from worker threads always reach
    it and no task wakes between two runs (outside a running loop)."""
    try:
        return await _run_window(window, loop, data_dir, admin_key, self_test, apps)
    finally:
        while apps:
            await apps.pop().aclose()


async def _run_window(
    window: Any,
    loop: asyncio.AbstractEventLoop,
    data_dir: str | None,
    admin_key: str | None,
    self_test: bool,
    apps: list[Any],
) -> int:

    done: asyncio.Future[None] = loop.create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    window.closed.connect(finish)
    fresh = await _bring_up(window, loop, data_dir, admin_key, apps)
    if window.is_closed:
        return 0  # closed while starting
    if self_test:
        code = await _self_test(window)
        window.close()
        return code
    if fresh:
        window.show_first_run()
    await done
    return 0


async def _bring_up(
    window: Any, loop: asyncio.AbstractEventLoop, data_dir: str | None, admin_key: str | None, apps: list[Any]
) -> bool:
    """After the first paint: load the app in a thread (the window keeps painting and taking
    input), build it, and build the panes over it one at a time.

    Returns:
        Whether the data dir was fresh (FAME never ran on it): the first-run assistant opens.
    """
    import asyncio

    # Imported in a worker thread: pure Python, no Qt (the panes' modules import on this thread).
    await asyncio.to_thread(_import_domain)
    from fame_desktop.app import build_app
    from fame_desktop.orchestrator.first_run import is_fresh
    from fame_desktop.orchestrator.paths import DataPaths
    from fame_desktop.ui.qt_fonts import ensure_cjk_font

    if window.is_closed:
        return False
    ensure_cjk_font()  # a Korean or Chinese transcript must not show as boxes
    # Decided before the app is built: building it creates the audit log in the data dir.
    fresh = is_fresh(DataPaths.resolve(data_dir).root)
    app = build_app(data_dir, admin_key)
    apps.append(app)
    app.bus.bind_loop(loop)
    await window.attach_sliced(app, loop)
    return fresh


#: What the window needs after its first paint, imported in a worker thread meanwhile: the app and
#: the panes' modules (they define classes and constants; no module makes a QObject on import).
#: Nothing else is imported on the Qt thread until this is done, so the two never wait on each
#: other's import locks.
BRING_UP_MODULES = (
    "fame_desktop.app",
    "fame_desktop.orchestrator.first_run",
    "fame_desktop.ui.qt_fonts",
    "fame_desktop.ui.qt_chat",
    "fame_desktop.ui.qt_status",
    "fame_desktop.ui.qt_models",
    "fame_desktop.ui.qt_conversations",
    "fame_desktop.ui.qt_plugins",
    "fame_desktop.ui.qt_sandbox",
    "fame_desktop.ui.qt_audit",
    "fame_desktop.ui.qt_evolution",
)


def _import_domain() -> None:
    import importlib

    for name in BRING_UP_MODULES:
        importlib.import_module(name)


def _first_painted(at: float | None, started: float, marks: dict[str, float]) -> None:
    """Log the first paint; with ``$FAME_FIRST_PAINT_FILE`` set, write its ``time.time()`` there,
    then on a second line the ``time.time()`` of the start-up steps before it as JSON (``imported``:
    Qt and the window's module loaded; ``built``: the window's frame built; ``shown``: ``show()``
    returned). ``benchmarks/bench_window.py`` measures the time from process start to them."""
    if at is None:
        return
    log.info("window painted %.0f ms after Qt started", (time.perf_counter() - started) * 1000)
    marker = os.environ.get(FIRST_PAINT_FILE)
    if marker:
        import json

        with open(marker, "w", encoding="utf-8") as out:
            out.write(f"{at!r}\n{json.dumps(marks)}\n")


async def _wait_for(predicate: Any, seconds: float, what: str) -> None:
    import asyncio

    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def _self_test(window: Any) -> int:
    """Answer one query through the window; 0 if every pane updated as it should."""
    import asyncio

    app = window.app
    started = time.monotonic()
    from fame_desktop.orchestrator.plugin_loader import MAX_USER_LOAD_SECONDS

    # A user plugin may take its whole load time before its host is stopped.
    budget = SELF_TEST_TIMEOUT + MAX_USER_LOAD_SECONDS
    try:
        try:
            await asyncio.wait_for(app.brain.start_services(), budget / 2)
        except TimeoutError:
            raise TimeoutError(f"the app did not start within {budget / 2:g} s") from None
        sandbox_ok = False
        if app.sandbox is not None:
            try:
                sandbox_ok = bool(app.sandbox.status().get("available"))
            except Exception as exc:
                log.warning("sandbox status failed: %r", exc)
        if sandbox_ok:
            text, intent, expect = "write a python function to reverse a string", "generate_code", "def "
        else:
            text, intent, expect = "what is 2 + 2", None, "4"
        audit_rows = window.audit.model.rowCount()
        runs_before = len(window.sandbox.runs)
        responses: list[dict[str, Any]] = []
        window.chat.answered.connect(responses.append)
        window.chat.input.setPlainText(text)
        if intent:
            window.chat.input.clear()
            window.chat.ask(text, intent)
        else:
            window.chat.send()
        remaining = budget - (time.monotonic() - started) - 2
        await _wait_for(lambda: bool(responses), remaining, f"no answer to {text!r}")
        response = responses[0]
        if response.get("error"):
            raise AssertionError(f"the query failed: {response['error']}")
        if expect not in window.chat.plain_text():
            raise AssertionError(f"the chat does not show the answer ({expect!r} missing)")
        await _wait_for(
            lambda: window.audit.model.rowCount() > audit_rows, 3, "the audit table did not update"
        )
        if sandbox_ok:
            await _wait_for(
                lambda: len(window.sandbox.runs) > runs_before, 3, "the sandbox pane shows no run"
            )
    except (TimeoutError, AssertionError) as exc:
        print(f"fame self-test: FAILED: {exc}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    print(
        f"fame self-test: ok ({text!r} answered by {', '.join(response.get('plugins') or [])} "
        f"in {elapsed:.1f} s; audit table {window.audit.model.rowCount()} rows"
        + (f"; sandbox runs {len(window.sandbox.runs)}" if sandbox_ok else "")
        + ")"
    )
    return 0
