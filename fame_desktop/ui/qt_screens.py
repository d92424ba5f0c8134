"""Screenshots of the real window: ``python -m fame_desktop.ui.qt_screens OUT_DIR [DATA_DIR]``.

Opens the window (on whatever Qt platform the environment selects, e.g. Xvfb), saves it empty,
after a code-generation answer (with the sandbox pane showing the run when the sandbox is there),
asking "did you mean?" for an ambiguous query, and with the settings dialog open. Prints one saved path per line; exits non-zero on failure.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path


def capture(out_dir: Path, data_dir: Path) -> list[Path]:
    """Drive the window and save the three screenshots; returns their paths."""
    # Loaded here, as in launch.py: the module's help and argument checks do not pay for Qt.
    from PySide6.QtWidgets import QApplication

    from fame_desktop.app import build_app
    from fame_desktop.ui.qt_loop import QtEventLoop, QtGarbageCollector
    from fame_desktop.ui.qt_main_window import QtMainWindow

    qapp = QApplication.instance() or QApplication(["fame-screens"])
    assert isinstance(qapp, QApplication)
    qapp.setQuitOnLastWindowClosed(False)
    loop = QtEventLoop(qapp)
    asyncio.set_event_loop(loop)
    collector = QtGarbageCollector()
    app = build_app(data_dir)
    app.bus.bind_loop(loop)
    window = QtMainWindow(app, loop)
    window.resize(1280, 800)
    window.show()
    out_dir.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    def save(widget: object, name: str) -> None:
        path = out_dir / f"{name}.png"
        if not widget.grab().save(str(path)):  # type: ignore[attr-defined]
            raise RuntimeError(f"could not save {path}")
        saved.append(path)

    async def settle(seconds: float) -> None:
        # Let Qt paint; the qasync loop processes Qt events while this sleeps.
        await asyncio.sleep(seconds)

    async def run() -> None:
        await app.brain.start_services()
        await settle(0.5)
        save(window, "window-empty")
        worker = window.chat.ask("write a python function to reverse a string", "generate_code")
        if worker.task is not None:
            await asyncio.wait_for(asyncio.shield(worker.task), 60)
        await settle(1.0)
        save(window, "window-code-answer")
        window.chat.conversation.new()
        worker = window.chat.ask("search sorting algorithms")
        if worker.task is not None:
            await asyncio.wait_for(asyncio.shield(worker.task), 60)
        await settle(1.0)
        save(window, "window-did-you-mean")
        dialog = window.open_settings()
        await settle(0.5)
        save(dialog, "settings-dialog")

    with loop:
        try:
            loop.run_until_complete(run())
        finally:
            window.close()
            loop.run_until_complete(app.aclose())
            collector.stop()
    return saved


def main(argv: list[str]) -> int:
    """Entry point: ``OUT_DIR [DATA_DIR]``."""
    if not argv:
        print("usage: python -m fame_desktop.ui.qt_screens OUT_DIR [DATA_DIR]", file=sys.stderr)
        return 2
    data = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp(prefix="fame-screens-"))
    for path in capture(Path(argv[0]), data):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
