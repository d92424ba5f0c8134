"""Push buttons that act when clicked and never steal Enter from the dialog around them."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QPushButton, QWidget


def action_button(parent: QWidget, text: str, name: str, slot: Callable[[], object]) -> QPushButton:
    """A button named ``name`` (its objectName, for tests and styles) that calls ``slot``.

    ``autoDefault`` is off: inside Settings, Enter must not start a download or remove a model.
    """
    button = QPushButton(text, parent)
    button.setObjectName(name)
    button.setAutoDefault(False)
    button.clicked.connect(lambda _checked=False: slot())
    return button
