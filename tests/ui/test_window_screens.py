"""Screenshots of the real window on the virtual X screen (Xvfb), saved as test artifacts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "artifacts" / "screenshots"

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_screenshots_under_xvfb(tmp_path: Path) -> None:
    subprocess.run([str(REPO / "scripts" / "xvfb_up.sh")], check=True, timeout=120)
    env = dict(os.environ, DISPLAY=":99", QT_QPA_PLATFORM="xcb", FAME_HOME=str(tmp_path / "home"))
    proc = subprocess.run(
        [sys.executable, "-m", "fame_desktop.ui.qt_screens", str(OUT), str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    saved = [Path(line) for line in proc.stdout.split()]
    assert [p.name for p in saved] == [
        "window-empty.png",
        "window-code-answer.png",
        "window-did-you-mean.png",
        "settings-dialog.png",
    ]
    for path in saved:
        assert path.stat().st_size > 10_000  # a real picture, not an empty grab
