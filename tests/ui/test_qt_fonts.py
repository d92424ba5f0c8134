"""The CJK font: loaded from the app's own fonts folder when the system has none (as in the packaged
app on a machine without CJK fonts), and left alone when the system has one.

A real process with fontconfig limited to DejaVu (no CJK), the real font file of the set-up
(``fonts-wqy-microhei``), Qt's real font database.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SYSTEM_CJK = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from PySide6.QtGui import QGuiApplication
    from fame_desktop.ui.qt_fonts import ensure_cjk_font, has_cjk_font

    app = QGuiApplication([])
    before = has_cjk_font()
    loaded = ensure_cjk_font(Path(sys.argv[1]))
    print(json.dumps({"before": before, "loaded": loaded, "after": has_cjk_font()}))
    """
)


def _run(fonts: Path, tmp_path: Path, *, system_fonts: list[Path]) -> dict[str, object]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "fonts.conf"
    dirs = "".join(f"<dir>{d}</dir>" for d in system_fonts)
    conf.write_text(
        f'<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
        f"<fontconfig>{dirs}<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    env = dict(os.environ, FONTCONFIG_FILE=str(conf), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(fonts)], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.skipif(not SYSTEM_CJK.exists(), reason="fonts-wqy-microhei is not installed (scripts/lib.sh)")
def test_the_bundled_cjk_font_is_loaded_only_when_the_system_has_none(tmp_path: Path) -> None:
    bundled = tmp_path / "fonts"
    bundled.mkdir()
    shutil.copy(SYSTEM_CJK, bundled / SYSTEM_CJK.name)
    bare = _run(bundled, tmp_path / "bare", system_fonts=[DEJAVU])
    assert bare["before"] is False  # DejaVu alone draws no Hangul, kana or Han
    assert "WenQuanYi Micro Hei" in bare["loaded"]  # type: ignore[operator]
    assert bare["after"] is True
    with_cjk = _run(bundled, tmp_path / "full", system_fonts=[DEJAVU, SYSTEM_CJK.parent])
    assert with_cjk == {"before": True, "loaded": [], "after": True}
