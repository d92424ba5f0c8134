"""The first-run assistant (``firstRunAssistant``): admin key, Docker, language model, voice.

Shown on the first start with an empty data dir, skippable (Skip closes it; nothing is required),
and re-runnable from Help → First-run assistant. Every page is also in Settings: the admin key and
the Docker check on the Admin keys and Sandbox tabs, the language model on the LLM tab, the voice
language and its model on the Voice tab. The pages are the same widgets Settings shows
(:mod:`fame_desktop.ui.qt_setup_steps`, :class:`~fame_desktop.ui.qt_voice_models.QtVoiceModels`);
every change goes through ``Safety.update_settings``, validated and audited.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.events import AdminStateChanged, SettingsChanged
from fame_desktop.orchestrator.first_run import summary
from fame_desktop.ui.qt_llm_endpoint import QtLlmEndpoint
from fame_desktop.ui.qt_models import QtModelManager
from fame_desktop.ui.qt_setup_steps import ERROR_STYLE, OK_STYLE, QtAdminKeyStep, QtDockerStep
from fame_desktop.ui.qt_voice_models import QtVoiceModels
from fame_desktop.ui.qt_workers import QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App

log = logging.getLogger("fame.ui.first_run")

PAGE_IDS = ("welcome", "admin", "docker", "llm", "voice", "done")


CONTENT_WIDTH = 820  # lines longer than this are hard to read on a wide screen


def _scrolled(content: QWidget) -> QScrollArea:
    """``content`` in a frameless scroll area, so a small screen scrolls instead of clipping; on a
    wide one it keeps a readable width, centred."""
    content.setMaximumWidth(CONTENT_WIDTH)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
    area.setWidget(content)
    return area


def _page(title: str, subtitle: str, content: QWidget, name: str) -> QWizardPage:
    page = QWizardPage()
    page.setObjectName(name)
    page.setTitle(title)
    page.setSubTitle(subtitle)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(_scrolled(content))
    return page


class QtFirstRunAssistant(QWizard):
    """Four steps to a working FAME; each can be skipped.

    Args:
        app: The services.
        workers: The window's workers (Docker check, model listing and downloads).
    """

    def __init__(self, app: App, workers: QtWorkerManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunAssistant")
        self.setWindowTitle("Set up FAME")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveFinishButtonOnEarlyPages, False)
        self.setButtonText(QWizard.WizardButton.CancelButton, "Skip set-up")
        self.button(QWizard.WizardButton.CancelButton).setObjectName("firstRunSkip")
        self.button(QWizard.WizardButton.NextButton).setObjectName("firstRunNext")
        self.button(QWizard.WizardButton.FinishButton).setObjectName("firstRunFinish")
        self.setMinimumSize(560, 420)
        self._app = app
        self._workers = workers
        self.admin_step = QtAdminKeyStep(app)
        self.docker_step = QtDockerStep(app, workers)
        self.voice_models = QtVoiceModels(app, workers)
        self.pages: dict[str, int] = {}
        for name, page in (
            ("welcome", self._welcome_page()),
            ("admin", self._admin_page()),
            ("docker", self._docker_page()),
            ("llm", self._llm_page()),
            ("voice", self._voice_page()),
            ("done", self._done_page()),
        ):
            self.pages[name] = self.addPage(page)
        self.currentIdChanged.connect(self._entered)
        self._subs = [
            app.bus.subscribe(AdminStateChanged, lambda _e: self._update_network()),
            app.bus.subscribe(SettingsChanged, self._on_settings),
        ]
        self.finished.connect(lambda _r: self.close_subscriptions())
        self.resize(720, 560)

    # --- pages -----------------------------------------------------------------------------------

    def _welcome_page(self) -> QWizardPage:
        body = QWidget()
        text = QLabel(
            "FAME answers questions, writes and tests code in a sandbox, and keeps an audit log of "
            "everything it does.\n\nThis assistant sets up four things, each optional:\n"
            "  1. the admin key (for the network, downloads and approvals)\n"
            "  2. the Docker sandbox that runs code\n"
            "  3. a language model (on this computer, or an endpoint)\n"
            "  4. speech in your language\n\n"
            "Skip any step now: all of them are in Settings, and this assistant is in the Help menu.",
            body,
        )
        text.setWordWrap(True)
        layout = QVBoxLayout(body)
        layout.addWidget(text)
        layout.addStretch(1)
        return _page("Welcome to FAME", "A few steps, all optional.", body, "firstRunWelcome")

    def _admin_page(self) -> QWizardPage:
        body = QWidget()
        self.network = QCheckBox("Allow network access (downloads, web search; admin only)", body)
        self.network.setObjectName("firstRunNetwork")
        self.network.setChecked(bool(self._app.settings.get("network.allow_network")))
        self.network.toggled.connect(self._on_network)
        self.network_state = QLabel("", body)
        self.network_state.setObjectName("firstRunNetworkState")
        self.network_state.setWordWrap(True)
        layout = QVBoxLayout(body)
        layout.addWidget(self.admin_step)
        layout.addSpacing(8)
        layout.addWidget(self.network)
        layout.addWidget(self.network_state)
        layout.addStretch(1)
        self._update_network()
        return _page("1. Admin key", "Create the key that unlocks admin actions.", body, "firstRunAdmin")

    def _docker_page(self) -> QWizardPage:
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.docker_step)
        layout.addStretch(1)
        return _page("2. Docker sandbox", "Where code runs, isolated.", body, "firstRunDocker")

    def _llm_page(self) -> QWizardPage:
        body = QWidget()
        intro = QLabel(
            "FAME answers many questions with its built-in plugins. For free-form answers and code "
            "from a language model, download one that runs on this computer (the network must be on), "
            "or give an OpenAI-compatible endpoint below. Both can be skipped.",
            body,
        )
        intro.setWordWrap(True)
        # The same model manager as Settings → Models: catalogue, download, Use, Import .gguf.
        self.model_manager = QtModelManager(self._app, self._workers, body)
        self.model_manager.setMinimumHeight(260)
        manager_layout = self.model_manager.layout()
        if manager_layout is not None:
            manager_layout.setContentsMargins(0, 0, 0, 0)  # aligned with the page's other text
        endpoint = QLabel("Or an OpenAI-compatible endpoint (Ollama, LM Studio, a hosted API):", body)
        endpoint.setWordWrap(True)
        self.llm_url = QLineEdit(str(self._app.settings.get("llm.base_url")), body)
        self.llm_url.setObjectName("firstRunLlmUrl")
        self.llm_url.setPlaceholderText("http://127.0.0.1:11434/v1")
        self.llm_model = QLineEdit(str(self._app.settings.get("llm.model")), body)
        self.llm_model.setObjectName("firstRunLlmModel")
        self.llm_model.setPlaceholderText("llama3.2")
        fields = {"llm.base_url": self.llm_url, "llm.model": self.llm_model}
        # The same presets, API key field and connection test as Settings → LLM.
        self.llm_endpoint = QtLlmEndpoint(
            self._app,
            self._workers,
            read_setting=lambda path: fields[path].text(),
            write_setting=lambda path, value: fields[path].setText(str(value)),
            parent=body,
        )
        self.llm_state = QLabel("", body)
        self.llm_state.setObjectName("firstRunLlmState")
        self.llm_state.setWordWrap(True)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("Endpoint URL", self.llm_url)
        form.addRow("Model name", self.llm_model)
        layout = QVBoxLayout(body)
        layout.addWidget(intro)
        layout.addWidget(self.model_manager)
        layout.addSpacing(6)
        layout.addWidget(endpoint)
        layout.addLayout(form)
        layout.addWidget(self.llm_endpoint)
        layout.addWidget(self.llm_state)
        layout.addStretch(1)
        page = _page("3. Language model", "Optional: answers from a model.", body, "firstRunLlm")
        return page

    def _voice_page(self) -> QWizardPage:
        body = QWidget()
        intro = QLabel(
            "Pick the language you will speak. FAME only uses a speech model for that language "
            "and never another one; download it here (about 40 to 90 MB; the network must be on, "
            "or set a mirror in Settings → Voice).",
            body,
        )
        intro.setWordWrap(True)
        layout = QVBoxLayout(body)
        layout.addWidget(intro)
        layout.addWidget(self.voice_models)
        layout.addStretch(1)
        return _page("4. Voice", "Speech in your language.", body, "firstRunVoice")

    def _done_page(self) -> QWizardPage:
        body = QWidget()
        self.summary = QLabel("", body)
        self.summary.setObjectName("firstRunSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(body)
        layout.addWidget(self.summary)
        layout.addStretch(1)
        return _page("Ready", "Run this again any time from Help → First-run assistant.", body,
                     "firstRunDone")  # fmt: skip

    # --- behaviour -------------------------------------------------------------------------------

    def page_id(self, name: str) -> int:
        """The wizard id of the page called ``name`` (one of :data:`PAGE_IDS`)."""
        return self.pages[name]

    def _entered(self, page: int) -> None:
        if page == self.pages["docker"] and self.docker_step.result is None:
            self.docker_step.check()
        elif page == self.pages["done"]:
            rows = summary(self._app.paths, self._app.settings, self._app.safety)
            self.summary.setText("\n".join(f"{what}: {state}" for what, state in rows))

    def validateCurrentPage(self) -> bool:
        """Leaving the model page saves the endpoint (a bad URL keeps the page open with why)."""
        if self.currentId() == self.pages["llm"]:
            return self.apply_llm()
        return True

    def apply_llm(self) -> bool:
        """Save the endpoint fields; False (and the reason shown) if they are invalid."""
        changes = {"llm.base_url": self.llm_url.text().strip(), "llm.model": self.llm_model.text().strip()}
        changes = {k: v for k, v in changes.items() if v != self._app.settings.get(k)}
        if not changes:
            return True
        try:
            self._app.safety.update_settings(changes, key=self._app.admin_key, actor="ui")
        except FameError as exc:
            self.llm_state.setStyleSheet(ERROR_STYLE)
            self.llm_state.setText(f"⚠ {exc.message} {exc.fix}".strip())
            return False
        self.llm_state.setStyleSheet(OK_STYLE)
        self.llm_state.setText("Saved.")
        return True

    def _update_network(self) -> None:
        admin = self._app.safety.unlocked or bool(self._app.admin_key)
        self.network.setEnabled(admin)
        if not admin:
            self.network_state.setText("Create the admin key (or unlock admin in Settings) to change this.")
        elif self.network.isChecked():
            self.network_state.setText("Network is on.")
        else:
            self.network_state.setText("Network is off: downloads from the internet are refused.")

    def _on_network(self, checked: bool) -> None:
        try:
            self._app.safety.update_settings(
                {"network.allow_network": checked}, key=self._app.admin_key, actor="ui"
            )
        except FameError as exc:
            self.network.blockSignals(True)
            self.network.setChecked(not checked)
            self.network.blockSignals(False)
            self.network_state.setText(f"⚠ {exc.message} {exc.fix}".strip())
            return
        self._update_network()

    def _on_settings(self, event: SettingsChanged) -> None:
        if "network.allow_network" in event.changes:
            self.network.blockSignals(True)
            self.network.setChecked(bool(event.changes["network.allow_network"]))
            self.network.blockSignals(False)
            self._update_network()

    def close_subscriptions(self) -> None:
        """Stop following the bus, forget the shown key, stop a running download."""
        for sub in self._subs:
            sub.cancel()
        self._subs = []
        self.admin_step.forget()
        self.voice_models.close_subscriptions()
        self.model_manager.close_subscriptions()
