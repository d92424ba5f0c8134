"""A CJK font for any speech model's text: the system's, else the one bundled with the packaged app.

The set-up scripts install WenQuanYi Micro Hei (``fonts-wqy-microhei``); the packaged build copies
the CJK font of the machine it is built on into ``resources/fonts/`` (see ``fame.spec``). At start
the window checks that some font can draw Hangul, kana and Han, and loads the bundled ones if not,
so a Korean or Chinese transcript never shows as boxes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtGui import QFontDatabase

from fame_desktop.orchestrator.paths import resource_root

log = logging.getLogger("fame.ui.fonts")

CJK_SYSTEMS = (
    QFontDatabase.WritingSystem.Korean,
    QFontDatabase.WritingSystem.Japanese,
    QFontDatabase.WritingSystem.SimplifiedChinese,
)
FONT_SUFFIXES = (".ttf", ".ttc", ".otf", ".otc")


def has_cjk_font() -> bool:
    """Whether an installed (or loaded) font covers Korean, Japanese and Chinese."""
    return all(QFontDatabase.families(system) for system in CJK_SYSTEMS)


def ensure_cjk_font(folder: Path | None = None) -> list[str]:
    """Load the bundled fonts in ``folder`` (default ``resources/fonts``) when no CJK font is
    installed; returns the families loaded (empty when the system had one, or none is bundled).

    Needs a ``QGuiApplication``.
    """
    if has_cjk_font():
        return []
    folder = folder or resource_root() / "fonts"
    loaded: list[str] = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.suffix.lower() not in FONT_SUFFIXES:
            continue
        font_id = QFontDatabase.addApplicationFont(str(path))
        if font_id < 0:
            log.warning("could not load the bundled font %s", path)
            continue
        loaded += QFontDatabase.applicationFontFamilies(font_id)
    if not has_cjk_font():
        log.warning(
            "no font can draw Korean, Japanese or Chinese: such transcripts show as boxes "
            "(install fonts-wqy-microhei or fonts-noto-cjk)"
        )
    return loaded
