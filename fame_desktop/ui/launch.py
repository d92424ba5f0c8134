"""Start the window: QApplication + qasync loop + the app's services; and the ``--self-test``.

``fame`` (no subcommand) calls :func:`run_window`. With ``self_test`` the window opens offscreen
when there is no display, answers one query end to end through the real panes, checks that the
chat, the audit table (and the sandbox pane when code ran) updated, and exits 0, or 1 with the
reason, within about 30 s (plus the 10 s a user plugin may take to load).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from typing import Any

from fame_desktop.orchestrator.plugin_loader import MAX_USER_LOAD_SECONDS

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

    # The app before PySide6: once PySide6 is loaded, its import hook reads the source of every
    # module imported after it (inspect.getsource), which made start-up ~0.3 s slower.
    from fame_desktop.app import build_app  # isort: skip
    from fame_desktop.orchestrator.first_run import is_fresh  # isort: skip
    from fame_desktop.orchestrator.paths import DataPaths  # isort: skip

    from PySide6.QtWidgets import QApplication

    from fame_desktop.ui.qt_fonts import ensure_cjk_font
    from fame_desktop.ui.qt_loop import QtEventLoop, QtGarbageCollector
    from fame_desktop.ui.qt_main_window import QtMainWindow

    started = time.perf_counter()
    qapp = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "fame"])
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName("FAME Desktop")
    qapp.setOrganizationName("FAME")
    # The window's own close ends the run (after cleanup); Qt must not stop the loop under us.
    qapp.setQuitOnLastWindowClosed(False)
    ensure_cjk_font()  # a Korean or Chinese transcript must not show as boxes
    loop = QtEventLoop(qapp)
    collector = QtGarbageCollector()
    asyncio.set_event_loop(loop)
    # Decided before the app is built: building it creates the audit log in the data dir.
    fresh = is_fresh(DataPaths.resolve(data_dir).root)
    app = build_app(data_dir, admin_key)
    app.bus.bind_loop(loop)
    window = QtMainWindow(app, loop)
    window.show()
    if fresh and not self_test:
        window.show_first_run()
    log.info("window shown after %.0f ms", (time.perf_counter() - started) * 1000)
    window.first_paint.painted.connect(lambda: _first_painted(window.first_paint.painted_at, started))
    code = 0
    with loop:
        try:
            if self_test:
                code = loop.run_until_complete(_self_test(window))
                window.close()
            else:
                done: asyncio.Future[None] = loop.create_future()

                def finish() -> None:
                    if not done.done():
                        done.set_result(None)

                window.closed.connect(finish)
                loop.run_until_complete(done)
        finally:
            loop.run_until_complete(app.aclose())
            collector.stop()
    return code


def _first_painted(at: float | None, started: float) -> None:
    """Log the first paint; with ``$FAME_FIRST_PAINT_FILE`` set, write its ``time.time()`` there
    (``benchmarks/bench_window.py`` measures the time from process start to it)."""
    if at is None:
        return
    log.info("window painted %.0f ms after Qt started", (time.perf_counter() - started) * 1000)
    marker = os.environ.get(FIRST_PAINT_FILE)
    if marker:
        with open(marker, "w", encoding="utf-8") as out:
            out.write(repr(at))


async def _wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def _self_test(window: Any) -> int:
    """Answer one query through the window; 0 if every pane updated as it should."""
    app = window.app
    started = time.monotonic()
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
