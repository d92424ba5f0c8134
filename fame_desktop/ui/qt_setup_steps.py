"""Set-up steps as widgets, shown both in the first-run assistant and in Settings.

:class:`QtAdminKeyStep` creates the first admin key through the domain (the same call as ``fame
admin init``), shows it once with a Copy button, and can keep it in the OS keyring.
:class:`QtDockerStep` probes the Docker engine in a worker and says how to fix it on this platform.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.first_run import (
    DockerCheck,
    NewAdminKey,
    check_docker,
    create_admin_key,
    keyring_available,
)
from fame_desktop.ui.qt_workers import QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App

ERROR_STYLE = "color: #c62828;"
OK_STYLE = "color: #1a7f37;"


def _wrapping_label(text: str, parent: QWidget, name: str = "") -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    return label


class QtAdminKeyStep(QWidget):
    """Create the first admin key in the window: shown once, Copy, optionally kept in the keyring.

    The new key also unlocks admin for this session, so the next steps (network, downloads) work.

    Args:
        app: The services (safety, admin keys).
    """

    created = Signal(str)
    """The first key was created: its key id."""

    def __init__(self, app: App, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("adminKeyStep")
        self._app = app
        self.new_key: NewAdminKey | None = None
        self.intro = _wrapping_label(
            "The admin key guards what can harm this computer or leak data: the network, "
            "downloads, evolution approval, admin keys. It is shown once and stored only as a hash.",
            self,
        )
        self.create_button = QPushButton("Create the admin key", self)
        self.create_button.setObjectName("adminCreateKeyButton")
        self.create_button.setAutoDefault(False)
        self.create_button.clicked.connect(self.create_key)
        self.key_view = QLineEdit(self)
        self.key_view.setObjectName("adminFirstKey")
        self.key_view.setReadOnly(True)
        self.key_view.setPlaceholderText("The key appears here once.")
        self.key_view.setFont(QFont("monospace"))
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setObjectName("adminCopyKeyButton")
        self.copy_button.setAutoDefault(False)
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy)
        self.keyring = QCheckBox("Also keep it in the OS keyring", self)
        self.keyring.setObjectName("adminKeyringCheck")
        backend = keyring_available()
        if backend:
            self.keyring.setChecked(True)
            self.keyring.setToolTip(f"Stored with {backend}; Settings can unlock admin from it.")
        else:
            self.keyring.setEnabled(False)
            self.keyring.setText("Also keep it in the OS keyring (none on this system)")
            self.keyring.setToolTip(
                "No OS keyring answered (Secret Service, macOS Keychain, Windows Credential Locker): "
                "keep the key in a password manager."
            )
        self.status = _wrapping_label("", self, "adminKeyStepStatus")
        row = QHBoxLayout()
        row.addWidget(self.key_view, 1)
        row.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.intro)
        layout.addWidget(self.create_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(row)
        layout.addWidget(self.keyring)
        layout.addWidget(self.status)
        self.refresh()

    def refresh(self) -> None:
        """Show whether a key exists (then none can be created here)."""
        exists = len(self._app.safety.keys) > 0
        self.create_button.setEnabled(not exists)
        self.keyring.setVisible(not exists or self.new_key is not None)
        if exists and self.new_key is None:
            self._say(
                "An admin key exists already. Unlock admin with it in Settings; an admin can add "
                "keys there (Admin keys).",
                "",
            )

    def create_key(self) -> None:
        """Create the first key, show it, copy it, keep it in the keyring if asked, unlock admin."""
        try:
            made = create_admin_key(self._app.safety, keep=self.keyring.isChecked(), actor="ui")
        except FameError as exc:
            self._say(f"⚠ {exc.message} {exc.fix}".strip(), ERROR_STYLE)
            self.refresh()
            return
        self.new_key = made
        self._app.safety.unlock(made.key, actor="ui")
        self.key_view.setText(made.key)
        self.key_view.selectAll()
        self.copy_button.setEnabled(True)
        self.copy()
        where = f" and kept in the OS keyring ({made.keyring})" if made.keyring else ""
        problem = f"\n⚠ {made.keyring_problem}" if made.keyring_problem else ""
        self._say(
            f"Admin key {made.key_id} created, copied to the clipboard{where}. Store it in a password "
            f"manager now: it is not shown again. Admin is unlocked until FAME closes.{problem}",
            OK_STYLE if not problem else ERROR_STYLE,
        )
        self.keyring.setEnabled(False)
        self.create_button.setEnabled(False)
        self.created.emit(made.key_id)

    def copy(self) -> None:
        """Put the new key on the clipboard."""
        if self.new_key is not None:
            QGuiApplication.clipboard().setText(self.new_key.key)

    def forget(self) -> None:
        """Drop the key from the widget (the assistant closes): it is shown once."""
        self.key_view.clear()
        self.copy_button.setEnabled(False)
        self.new_key = None

    def _say(self, text: str, style: str) -> None:
        self.status.setStyleSheet(style)
        self.status.setText(text)


class QtDockerStep(QWidget):
    """Check the Docker engine (in a worker) and say how to start or install it here.

    Args:
        app: The services (sandbox settings).
        workers: Runs the probe.
    """

    checked = Signal(object)
    """A check ended: the :class:`DockerCheck`."""

    def __init__(self, app: App, workers: QtWorkerManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dockerStep")
        self._app = app
        self._workers = workers
        self.result: DockerCheck | None = None
        self._running = False
        intro = _wrapping_label(
            "Code FAME writes or you run is tested in a locked-down Docker container, never on this "
            "computer directly. Without Docker, everything else works and code is not run.",
            self,
        )
        self.state = _wrapping_label("Not checked yet.", self, "dockerCheckState")
        self.how_to = _wrapping_label("", self, "dockerCheckHowTo")
        self.check_button = QPushButton("Check Docker", self)
        self.check_button.setObjectName("dockerCheckButton")
        self.check_button.setAutoDefault(False)
        self.check_button.clicked.connect(self.check)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(intro)
        layout.addWidget(self.state)
        layout.addWidget(self.how_to)
        layout.addWidget(self.check_button, 0, Qt.AlignmentFlag.AlignLeft)

    @property
    def running(self) -> bool:
        """Whether a check runs."""
        return self._running

    def check(self) -> None:
        """Probe the engine in a worker."""
        if self._running:
            return
        self._running = True
        self.check_button.setEnabled(False)
        self.state.setStyleSheet("")
        self.state.setText("Checking the Docker engine…")
        settings = self._app.settings

        def work(_flag: threading.Event) -> DockerCheck:
            return check_docker(settings)

        def failed(exc: BaseException) -> None:
            self._show(DockerCheck(False, False, f"The check failed: {exc!r}", ""))

        self._workers.run_blocking(work, name="docker-check", group="first-run", on_done=self._show,
                                   on_error=failed)  # fmt: skip

    def _show(self, result: DockerCheck) -> None:
        self._running = False
        self.result = result
        self.check_button.setEnabled(True)
        self.check_button.setText("Check again")
        if result.ok:
            self.state.setStyleSheet(OK_STYLE)
            self.state.setText(f"✓ {result.detail}")
            self.how_to.setText("")
        else:
            self.state.setStyleSheet(ERROR_STYLE)
            self.state.setText(f"⚠ {result.detail}")
            self.how_to.setText(f"On this computer: {result.how_to}" if result.how_to else "")
        self.checked.emit(result)
