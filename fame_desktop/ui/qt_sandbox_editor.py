"""The Sandbox pane's editor: type or open a Python file and run it in the sandbox.

A run from here is an ordinary sandbox run (``DockerManager.run``): the same limits, the same
``sandbox_run`` audit entry, the same live output and report in the pane as a query's run. The
pane does the running; this widget only holds the text and says what the user wants.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

#: Files larger than this are not opened into the editor (the sandbox takes code on stdin).
MAX_FILE_BYTES = 1_000_000


class QtCodeEditor(QPlainTextEdit):
    """Plain text for code: monospace, Tab indents, Ctrl+Enter runs (not the chat's Send)."""

    runRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(mono)
        self.setTabStopDistance(4 * self.fontMetrics().horizontalAdvance(" "))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

    @staticmethod
    def _is_run_key(e: QKeyEvent) -> bool:
        ctrl = bool(e.modifiers() & Qt.KeyboardModifier.ControlModifier)
        return ctrl and e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)

    def event(self, e: QEvent) -> bool:
        # The window's Ctrl+Enter shortcut sends the chat; in here the same keys run the code.
        if e.type() == QEvent.Type.ShortcutOverride and isinstance(e, QKeyEvent) and self._is_run_key(e):
            e.accept()
            return True
        return super().event(e)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if self._is_run_key(e):
            self.runRequested.emit()
            return
        if e.key() == Qt.Key.Key_Tab and not e.modifiers():
            self.insertPlainText("    ")
            return
        super().keyPressEvent(e)


class QtSandboxEditor(QWidget):
    """An editor with Run and Open file… buttons.

    Signals:
        runRequested(code, origin): Run ``code``; ``origin`` names it for the status (a file name
            or "editor").
    """

    runRequested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = "editor"
        self.editor = QtCodeEditor(self)
        self.editor.setObjectName("sandboxEditor")
        self.editor.setAccessibleName("Code to run in the sandbox")
        self.editor.setPlaceholderText("Python to run in the sandbox (Ctrl+Enter runs it)")
        self.editor.runRequested.connect(self.run)
        self.editor.textChanged.connect(self._on_edited)
        self.run_button = QPushButton("▶ Run", self)
        self.run_button.setObjectName("sandboxRunButton")
        self.run_button.setToolTip("Run this code in the sandbox (Ctrl+Enter in the editor)")
        self.run_button.clicked.connect(self.run)
        self.open_button = QPushButton("Open file…", self)
        self.open_button.setObjectName("sandboxOpenButton")
        self.open_button.setToolTip("Open a Python file and run it in the sandbox")
        self.open_button.clicked.connect(lambda: self.open_file())
        self.message = QLabel("", self)
        self.message.setObjectName("sandboxEditorMessage")
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.run_button)
        row.addWidget(self.open_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self.editor, 1)

    def run(self) -> None:
        """Ask for the editor's code to be run (nothing happens when it is empty)."""
        code = self.editor.toPlainText()
        if not code.strip():
            self._say("Type some Python first, or open a file.")
            return
        self._say("")
        self.runRequested.emit(code if code.endswith("\n") else code + "\n", self.source)

    def open_file(self, path: Path | None = None) -> bool:
        """Load a Python file (asking for one when ``path`` is None) and run it; False if not loaded."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self, "Open a Python file to run", str(Path.home()), "Python files (*.py);;All files (*)"
            )
            if not chosen:
                return False
            path = Path(chosen)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                self._say(f"{path.name} is larger than {MAX_FILE_BYTES // 1000} kB: not opened.")
                return False
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._say(f"Cannot open {path.name}: {exc}")
            return False
        self.editor.setPlainText(text)
        self.source = path.name  # after setPlainText: editing it afterwards makes it "editor" again
        self.run()
        return True

    def _on_edited(self) -> None:
        self.source = "editor"

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
