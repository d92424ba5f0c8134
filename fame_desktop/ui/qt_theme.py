"""Light, dark and system themes: a Fusion palette plus a small stylesheet from resources/styles."""

from __future__ import annotations

import logging

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from fame_desktop.orchestrator.paths import resource_root

log = logging.getLogger("fame.ui.theme")

THEMES = ("system", "light", "dark")


def _dark_palette() -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    colours = {
        role.Window: "#202225",
        role.WindowText: "#e6e6e6",
        role.Base: "#18191b",
        role.AlternateBase: "#24262a",
        role.ToolTipBase: "#2b2d31",
        role.ToolTipText: "#e6e6e6",
        role.Text: "#e6e6e6",
        role.Button: "#2b2d31",
        role.ButtonText: "#e6e6e6",
        role.BrightText: "#ff6b6b",
        role.Link: "#6cb6ff",
        role.Highlight: "#2f6fd0",
        role.HighlightedText: "#ffffff",
        role.PlaceholderText: "#8a8f98",
    }
    for r, c in colours.items():
        p.setColor(r, QColor(c))
    for r in (role.Text, role.ButtonText, role.WindowText):
        p.setColor(group.Disabled, r, QColor("#6b6f76"))
    return p


def apply_theme(theme: str) -> None:
    """Apply ``system``, ``light`` or ``dark`` to the running QApplication."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    if theme not in THEMES:
        log.warning("unknown theme %r; using system", theme)
        theme = "system"
    # Set the style by name, once: Qt owns and deletes the previous style, so passing a Python
    # QStyle object each time leaves wrappers of deleted styles behind.
    if app.style().name().lower() != "fusion" and "Fusion" in list(QStyleFactory.keys()):
        app.setStyle("Fusion")
    if theme == "dark":
        app.setPalette(_dark_palette())
    elif theme == "light":
        app.setPalette(app.style().standardPalette())
    else:
        app.setPalette(QPalette())
    name = "dark" if theme == "dark" else "light"
    qss = resource_root() / "styles" / f"{name}.qss"
    try:
        app.setStyleSheet(qss.read_text(encoding="utf-8"))
    except OSError:
        # Missing stylesheet only loses polish, never function.
        log.warning("stylesheet %s not found", qss)
        app.setStyleSheet("")
