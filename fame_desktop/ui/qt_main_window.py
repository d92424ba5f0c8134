"""The main window: chat in the centre, docks for conversations, plugins, sandbox, audit, evolution."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QResizeEvent,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDockWidget,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QStatusBar,
    QTextEdit,
    QToolBar,
    QToolButton,
    QWidget,
)

from fame_desktop import __version__
from fame_desktop.orchestrator.paths import resource_root
from fame_desktop.ui.qt_first_paint import QtFirstPaint
from fame_desktop.ui.qt_layout import QtDockLayout, shrinkable
from fame_desktop.ui.qt_startup import QtStartupChat, peek_theme, placeholder
from fame_desktop.ui.qt_theme import apply_theme

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Iterator

    from fame_desktop.app import App
    from fame_desktop.orchestrator.conversation_model import ConversationModel
    from fame_desktop.orchestrator.conversations import ConversationStore
    from fame_desktop.orchestrator.events import SettingsChanged
    from fame_desktop.ui.qt_audit import QtAuditPane
    from fame_desktop.ui.qt_chat import QtChatPane
    from fame_desktop.ui.qt_conversations import QtConversationsPane
    from fame_desktop.ui.qt_evolution import QtEvolutionPanel
    from fame_desktop.ui.qt_first_run import QtFirstRunAssistant
    from fame_desktop.ui.qt_help import QtAboutDialog, QtShortcutsDialog
    from fame_desktop.ui.qt_models import QtModelPrompt
    from fame_desktop.ui.qt_plugins import QtPluginsPane
    from fame_desktop.ui.qt_sandbox import QtSandboxPane
    from fame_desktop.ui.qt_settings import QtSettingsDialog
    from fame_desktop.ui.qt_status import QtStatusBar
    from fame_desktop.ui.qt_telemetry import QtTelemetryDialog
    from fame_desktop.ui.qt_workers import QtWorkerManager

log = logging.getLogger("fame.ui.window")

#: Saved dock layouts of another version are not restored (2: scrollable docks, size-aware layout).
STATE_VERSION = 2
#: The docks: object name, title, area (the pane in each is built with the app).
DOCKS = (
    ("conversationsDock", "Conversations", Qt.DockWidgetArea.LeftDockWidgetArea),
    ("pluginsDock", "Plugins", Qt.DockWidgetArea.RightDockWidgetArea),
    ("evolutionPanel", "Evolution", Qt.DockWidgetArea.RightDockWidgetArea),
    ("sandboxDock", "Sandbox", Qt.DockWidgetArea.BottomDockWidgetArea),
    ("auditDock", "Audit log", Qt.DockWidgetArea.BottomDockWidgetArea),
)


class QtMainWindow(QMainWindow):
    """The FAME Desktop window.

    Built in two steps, so it can be on screen before the app exists: the frame (menus, toolbar,
    docks, the chat input) from Qt alone, then :meth:`attach` builds the panes over the app. Given
    the app, the constructor does both.

    Args:
        app: The services and Brain (built by the caller, the one composition root); None: only the
            frame, until :meth:`attach`.
        loop: The qasync event loop the Brain's coroutines run on (with ``app``).
        root: The data dir (where the window keeps its layout) when ``app`` is None.
    """

    closed = Signal()
    #: The panes are built over the app (after :meth:`attach`, or its last slice).
    attached = Signal()

    app: App
    workers: QtWorkerManager
    store: ConversationStore
    conversation: ConversationModel
    chat: QtChatPane
    conversations: QtConversationsPane
    plugins: QtPluginsPane
    sandbox: QtSandboxPane
    audit: QtAuditPane
    evolution: QtEvolutionPanel
    status_bar: QtStatusBar
    model_prompt: QtModelPrompt

    def __init__(
        self,
        app: App | None,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        root: Path | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(f"FAME Desktop {__version__}")
        root = app.paths.root if app is not None else root
        if root is None:
            raise ValueError("QtMainWindow needs the app or the data dir (root)")
        self._qsettings = QSettings(str(root / "window.ini"), QSettings.Format.IniFormat)
        self._settings_dialog: QtSettingsDialog | None = None
        self.first_run: QtFirstRunAssistant | None = None
        self.telemetry: QtTelemetryDialog | None = None
        self._closed = False
        self._attached = False
        self._subs: list[Any] = []
        self._shown_once = False
        self._saved_state: Any = None  # the dock layout restored from window.ini, if any

        # The frame, from Qt alone: what the first paint shows.
        self.startup_chat: QtStartupChat | None = QtStartupChat(self)
        self.setCentralWidget(self.startup_chat)
        startup_bar = QStatusBar(self)
        startup_label = QLabel("Starting…", startup_bar)
        startup_label.setObjectName("statusStartup")
        startup_bar.addPermanentWidget(startup_label)
        self.setStatusBar(startup_bar)
        self.docks: dict[str, QDockWidget] = {}
        for name, title, area in DOCKS:
            self._dock(name, title, placeholder(title), area)
        self.dock_layout = QtDockLayout(self, self.docks)
        self._build_toolbar_and_menus()
        for action in self._app_actions:
            action.setEnabled(False)  # until the app is up (attach)
        self.setFocusProxy(self.startup_chat.input)
        self.startup_chat.input.setFocus(Qt.FocusReason.OtherFocusReason)
        self._theme = str(app.settings.get("ui.theme")) if app is not None else peek_theme(root)
        apply_theme(self._theme)
        self._restore_layout()
        # Plugins, the sandbox pool, voice and the code library come up after the first paint (the
        # first query would start them too); the status bar shows their progress.
        self.first_paint = QtFirstPaint(self)
        if app is not None:
            self.attach(app, loop)

    # --- the panes, over the app -----------------------------------------------------------------

    def attach(self, app: App, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Build the panes over ``app`` now, replacing the placeholders."""
        for _step in self._attach_steps(app, loop):
            pass

    async def attach_sliced(self, app: App, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """:meth:`attach` one pane at a time, letting the window paint and take input in between."""
        import asyncio

        for _step in self._attach_steps(app, loop):
            await asyncio.sleep(0)

    def _attach_steps(self, app: App, loop: asyncio.AbstractEventLoop | None) -> Iterator[str]:
        """Build the panes, yielding after each (the window may paint and take input meanwhile)."""
        # Imported here, not with the module: the frame paints before any of this is loaded.
        import asyncio

        from fame_desktop.orchestrator.conversation_model import ConversationModel
        from fame_desktop.orchestrator.events import SettingsChanged
        from fame_desktop.ui.qt_chat import QtChatPane
        from fame_desktop.ui.qt_models import QtModelPrompt
        from fame_desktop.ui.qt_status import QtStatusBar
        from fame_desktop.ui.qt_workers import QtWorkerManager

        self.app = app
        self.workers = QtWorkerManager(loop or asyncio.get_event_loop())
        # The Qt thread draws the window: audit commits go to the writer thread, never onto it.
        app.services.audit_batch.commit_off(self.workers.loop)
        self.store = app.services.conversations
        self.conversation = ConversationModel(
            self.store, app.bus, app.brain.handle_query, admin_key=lambda: self.app.admin_key
        )
        if self._theme != str(app.settings.get("ui.theme")):
            self._theme = str(app.settings.get("ui.theme"))
            apply_theme(self._theme)
        self._subs.append(app.bus.subscribe(SettingsChanged, self._on_settings))
        # An SVG icon loads Qt's SVG plugin: after the first paint, not before it.
        icon = resource_root() / "icons" / "fame.svg"
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))

        # The chat first: it takes over the input (and what was typed in it) and any waiting question.
        shell = self.startup_chat
        # Keep the keyboard in the input unless the user moved it elsewhere (a dock's field).
        focused = self.focusWidget()
        typing = focused is None or (shell is not None and focused is shell.input)
        self.chat = QtChatPane(
            app,
            self.workers,
            self.conversation,
            self,
            chat_input=shell.release_input() if shell is not None else None,
        )
        self.setCentralWidget(self.chat)  # deletes the stand-in
        self.startup_chat = None
        self.setFocusProxy(self.chat.input)
        if typing:
            self.chat.input.setFocus(Qt.FocusReason.OtherFocusReason)
        self.status_bar = QtStatusBar(app, self.workers, self)
        self.setStatusBar(self.status_bar)
        # First run: a quiet offer to get a language model while none is installed.
        self.model_prompt = QtModelPrompt(app, self.workers, self)
        self.model_prompt.requested.connect(self.open_models)
        self.status_bar.addPermanentWidget(self.model_prompt)
        self.chat.runCodeRequested.connect(self.run_code)
        self.chat.voiceModelWanted.connect(lambda _offer: self.download_voice_model())
        # Type right away, as in every chat app: at open and after each answer.
        self.chat.answered.connect(lambda _response: self._focus_input_after_answer())
        if shell is not None and shell.pending is not None:
            self.conversation.history.add(shell.pending)
            self.chat.ask(shell.pending)
        yield "chat"

        from fame_desktop.ui.qt_conversations import QtConversationsPane

        self.conversations = QtConversationsPane(self.store, self)
        self._fill_dock("conversationsDock", self.conversations)
        self.conversations.opened.connect(self.chat.open_conversation)
        self.chat.conversationsChanged.connect(self.conversations.refresh)
        yield "conversations"

        from fame_desktop.ui.qt_plugins import QtPluginsPane

        self.plugins = QtPluginsPane(app, self.workers, self)
        self._fill_dock("pluginsDock", self.plugins)
        yield "plugins"

        from fame_desktop.ui.qt_sandbox import QtSandboxPane

        self.sandbox = QtSandboxPane(app, self.workers, self)
        self._fill_dock("sandboxDock", self.sandbox)
        yield "sandbox"

        from fame_desktop.ui.qt_audit import QtAuditPane

        self.audit = QtAuditPane(app, self.workers, self)
        self._fill_dock("auditDock", self.audit)
        yield "audit"

        from fame_desktop.ui.qt_evolution import QtEvolutionPanel

        self.evolution = QtEvolutionPanel(app, self.workers, self)
        self._fill_dock("evolutionPanel", self.evolution)
        yield "evolution"

        self._build_shortcuts()
        for action in self._app_actions:
            action.setEnabled(True)
        self.settings_button.setEnabled(True)
        self._attached = True
        if self._closed:
            self._release()  # closed while the panes were being built
            return
        # The background parts start once the window is on screen (at once if it is already).
        painted: asyncio.Future[None] = self.workers.loop.create_future()

        def on_painted() -> None:
            if not painted.done():
                painted.set_result(None)

        if self.first_paint.done:
            on_painted()
        else:
            self.first_paint.ready.connect(on_painted)
        # The worker exists from now on, so "startup" is busy until they are up.
        self.workers.run(lambda: self._start_after_paint(painted), name="brain-start", group="startup")
        self.attached.emit()
        yield "started"

    async def _start_after_paint(self, painted: asyncio.Future[None]) -> None:
        """Bring the background parts up once the window is on screen, then take what they
        loaded out of later garbage collections."""
        import asyncio

        from fame_desktop.ui.qt_loop import freeze_long_lived
        from fame_desktop.ui.qt_markdown import warm_up

        await painted
        markdown = self.workers.run_blocking(warm_up, name="warm-markdown", group="startup")
        await self.app.brain.start_services()
        await self._preload_model()
        if markdown.task is not None:
            await asyncio.gather(markdown.task, return_exceptions=True)
        # The code recipe library, loading in a worker since start_services.
        with contextlib.suppress(Exception):
            await self.app.services.codegen.ready()
        freeze_long_lived()

    async def _preload_model(self) -> None:
        """Load the local model now (checked, trial-loaded in a child, then loaded, all off the Qt
        thread), so the first answer does not pay for it; the status bar shows it loading. Nothing
        to do without a local model; cancelled with the window (the load stops at its next step)."""
        from fame_desktop.orchestrator.llm.errors import LlmError
        from fame_desktop.orchestrator.llm.local_provider import LocalProvider

        provider = self.app.services.llm()
        if not isinstance(provider, LocalProvider):
            return
        self.status_bar.show_model_loading(True)
        problem = ""
        try:
            await provider.load()
        except LlmError as exc:
            # A question will say why again; the bar says it now.
            log.warning("the local model %s was not loaded ahead: %s", provider.model, exc)
            problem = str(exc)
        finally:
            if not self._closed:
                self.status_bar.show_model_loading(False, problem)

    # --- construction ----------------------------------------------------------------------------

    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(shrinkable(widget))
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        self.docks[name] = dock
        return dock

    def _fill_dock(self, name: str, pane: QWidget) -> None:
        """Put ``pane`` in the dock ``name`` in place of its placeholder."""
        dock = self.docks[name]
        stand_in = dock.widget()
        dock.setWidget(shrinkable(pane))
        if stand_in is not None:
            stand_in.deleteLater()
        # The pane asks for more room than its stand-in did: the docks keep the sizes they had.
        if self._saved_state is not None and self.dock_layout.customized:
            self.restoreState(self._saved_state, STATE_VERSION)
        else:
            self.dock_layout.follow_size()

    def _build_toolbar_and_menus(self) -> None:
        # The actions that need the app: disabled until it is up (attach enables them).
        self._app_actions: list[QAction] = []
        bar = QToolBar("Main", self)
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.settings_button = QToolButton(self)
        self.settings_button.setObjectName("settingsButton")
        self.settings_button.setText("⚙ Settings")
        self.settings_button.setToolTip("Settings (Ctrl+,)")
        self.settings_button.clicked.connect(self.open_settings)
        self.settings_button.setEnabled(False)  # until the app is up (attach)
        new_chat = QAction("New conversation", self)
        new_chat.setShortcut(QKeySequence("Ctrl+N"))
        new_chat.triggered.connect(lambda: self.chat.open_conversation(None))
        self._app_actions.append(new_chat)
        bar.addAction(new_chat)
        bar.addSeparator()
        bar.addWidget(self.settings_button)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(new_chat)
        close = QAction("Close window", self)
        close.setShortcut(QKeySequence.StandardKey.Close)
        close.triggered.connect(self.close)
        file_menu.addAction(close)
        view = self.menuBar().addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        telemetry = QAction("Telemetry…", self)
        telemetry.setObjectName("telemetryAction")
        telemetry.triggered.connect(self.show_telemetry)
        self._app_actions.append(telemetry)
        view.addAction(telemetry)
        reset = QAction("Reset layout", self)
        reset.triggered.connect(self.reset_layout)
        view.addAction(reset)
        admin = self.menuBar().addMenu("&Admin")
        lock = QAction("Lock admin", self)
        lock.setShortcut(QKeySequence("Ctrl+Shift+L"))
        lock.triggered.connect(lambda: self.app.safety.lock(actor="ui"))
        self._app_actions.append(lock)
        admin.addAction(lock)
        settings = QAction("Settings…", self)
        settings.setShortcut(QKeySequence("Ctrl+,"))
        settings.triggered.connect(self.open_settings)
        self._app_actions.append(settings)
        admin.addAction(settings)
        self.addAction(settings)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.setObjectName("helpMenu")
        shortcuts = QAction("Keyboard shortcuts", self)
        shortcuts.triggered.connect(self.show_shortcuts)
        help_menu.addAction(shortcuts)
        about = QAction("About FAME", self)
        about.triggered.connect(self.show_about)
        self._app_actions.append(about)
        help_menu.addAction(about)
        assistant = QAction("First-run assistant…", self)
        assistant.setObjectName("firstRunAction")
        assistant.triggered.connect(self.show_first_run)
        self._app_actions.append(assistant)
        help_menu.addAction(assistant)

    def _build_shortcuts(self) -> None:
        def shortcut(keys: str, slot: object, what: str) -> None:
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.setWhatsThis(what)  # the Help menu's shortcuts list reads it
            sc.activated.connect(slot)

        shortcut("Ctrl+Return", self.chat.send, "Send")
        shortcut("Ctrl+Enter", self.chat.send, "Send")
        shortcut("Escape", self.chat.stop, "Stop")
        shortcut("Ctrl+L", self.focus_input, "Go to the chat input")
        # Push-to-talk from anywhere in the window.
        from fame_desktop.ui.qt_voice import SHORTCUT as VOICE_SHORTCUT

        shortcut(VOICE_SHORTCUT, self.chat.voice_control.toggle, "Push to talk")
        shortcut("Ctrl+Shift+A", lambda: self.show_dock("auditDock", self.audit.table), "Show the audit log")
        shortcut(
            "Ctrl+Shift+S", lambda: self.show_dock("sandboxDock", self.sandbox.output), "Show the sandbox"
        )
        shortcut("Ctrl+Shift+P", lambda: self.show_dock("pluginsDock", self.plugins.tree), "Show the plugins")
        shortcut(
            "Ctrl+Shift+E", lambda: self.show_dock("evolutionPanel", self.evolution.task), "Show evolution"
        )
        shortcut(
            "Ctrl+Shift+H",
            lambda: self.show_dock("conversationsDock", self.conversations.search),
            "Show the conversations",
        )

    # --- actions ---------------------------------------------------------------------------------

    def show_shortcuts(self) -> QtShortcutsDialog:
        """Show every keyboard shortcut the window defines."""
        from fame_desktop.ui.qt_help import QtShortcutsDialog

        dialog = QtShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_telemetry(self) -> QtTelemetryDialog:
        """Show what the app has been doing (one dialog, non-modal, refreshed while open)."""
        if self.telemetry is None:
            from fame_desktop.ui.qt_telemetry import QtTelemetryDialog

            self.telemetry = QtTelemetryDialog(self.app.services.metrics, self)
        self.telemetry.show()
        self.telemetry.raise_()
        return self.telemetry

    def show_first_run(self) -> QtFirstRunAssistant:
        """Show the first-run assistant (one at a time, non-modal)."""
        if self.first_run is None:
            from fame_desktop.ui.qt_first_run import QtFirstRunAssistant

            self.first_run = QtFirstRunAssistant(self.app, self.workers, self)
            self.first_run.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.first_run.destroyed.connect(self._first_run_closed)
        self.first_run.show()
        self.first_run.raise_()
        self.first_run.activateWindow()
        return self.first_run

    def _first_run_closed(self) -> None:
        self.first_run = None
        if not self._closed:
            self.activateWindow()
            self.focus_input()  # back to typing, as after every answer

    def download_voice_model(self) -> QtSettingsDialog:
        """Open Settings → Voice and download the model for the voice language (the chat's offer)."""
        dialog = self.open_settings()
        dialog.show_tab("Voice")
        if dialog.voice_models is not None:
            dialog.voice_models.download_language()
        return dialog

    def show_about(self) -> QtAboutDialog:
        """Show the version, the data dir and the licence."""
        from fame_desktop.ui.qt_help import QtAboutDialog

        dialog = QtAboutDialog(self.app.paths.root, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _focus_input_after_answer(self) -> None:
        """Back to the chat input, unless the user is typing in another field (search, filter)."""
        focus = QApplication.focusWidget()
        typing_elsewhere = (
            isinstance(focus, (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox))
            and focus is not self.chat.input
            and not getattr(focus, "isReadOnly", lambda: False)()
        )
        if not typing_elsewhere and self._attached:
            self.focus_input()

    def focus_input(self) -> None:
        """Put the keyboard focus in the chat input."""
        chat_input = self.startup_chat.input if self.startup_chat is not None else self.chat.input
        chat_input.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def show_dock(self, name: str, focus: QWidget) -> None:
        """Show and raise a dock and focus its main widget."""
        dock = self.docks[name]
        dock.show()
        dock.raise_()
        focus.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def run_code(self, code: str, origin: str = "an answer's code") -> None:
        """Run ``code`` in the sandbox with its output shown live in the Sandbox pane."""
        dock = self.docks["sandboxDock"]
        dock.show()
        dock.raise_()
        self.sandbox.run_code(code, origin)

    def open_settings(self) -> QtSettingsDialog:
        """Show the settings dialog (one instance, non-modal)."""
        if self._settings_dialog is None:
            from fame_desktop.ui.qt_settings import QtSettingsDialog

            self._settings_dialog = QtSettingsDialog(self.app, self, self.workers)
            if self._settings_dialog.models is not None:
                self._settings_dialog.models.modelsChanged.connect(self.model_prompt.refresh)
        self._settings_dialog.show()
        self._settings_dialog.raise_()
        self._settings_dialog.activateWindow()
        return self._settings_dialog

    def open_models(self) -> QtSettingsDialog:
        """Show the settings dialog on its Models tab."""
        dialog = self.open_settings()
        dialog.show_models()
        return dialog

    def reset_layout(self) -> None:
        """Every dock shown, placed and sized for the window's size (and following it again)."""
        self.dock_layout.reset()

    def showEvent(self, event: QShowEvent) -> None:
        """The first time: arrange the docks for the size the window opened at."""
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if not self.dock_layout.customized:
                self.dock_layout.arrange()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the layout holding at the new size (after Qt has laid it out)."""
        super().resizeEvent(event)
        self.dock_layout.schedule()

    def _on_settings(self, event: SettingsChanged) -> None:
        if "ui.theme" in event.changes:
            self._theme = str(event.changes["ui.theme"])
            apply_theme(self._theme)
            self.chat.renderer.dark = self.palette().window().color().lightness() < 128

    # --- layout persistence ----------------------------------------------------------------------

    def _restore_layout(self) -> None:
        geometry = self._qsettings.value("window/geometry")
        state = self._qsettings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            screen = QGuiApplication.primaryScreen()
            avail = screen.availableGeometry() if screen is not None else None
            width = min(1280, avail.width()) if avail is not None else 1280
            height = min(800, avail.height()) if avail is not None else 800
            self.resize(width, height)
        self.dock_layout.arrange()
        if state is not None and self.restoreState(state, STATE_VERSION):
            self._saved_state = state
            self.dock_layout.customized = True  # the user's own layout: kept, only the floors hold

    def save_layout(self) -> None:
        """Persist geometry and dock layout in the data dir (not the user's home)."""
        self._qsettings.setValue("window/geometry", self.saveGeometry())
        self._qsettings.setValue("window/state", self.saveState(STATE_VERSION))
        self._qsettings.sync()

    @property
    def is_attached(self) -> bool:
        """Whether the panes are built over the app (:meth:`attach` is done)."""
        return self._attached

    @property
    def is_closed(self) -> bool:
        """Whether the window was closed (its panes stop; the launcher ends the run)."""
        return self._closed

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save the layout, cancel running work, lock admin (the app closes the stores)."""
        if not self._closed:
            self._closed = True
            self.save_layout()
            if self._attached:
                self._release()
            # Closed while starting: attach releases what it built once it is done.
            self.closed.emit()
        super().closeEvent(event)

    def _release(self) -> None:
        """Cancel running work, drop the panes' subscriptions, lock admin, close the conversation."""
        self.workers.close()
        for pane in (
            self.chat,
            self.plugins,
            self.sandbox,
            self.audit,
            self.evolution,
            self.status_bar,
            self.model_prompt,
        ):
            pane.close_subscriptions()
        if self._settings_dialog is not None:
            self._settings_dialog.close_subscriptions()
            self._settings_dialog.close()
        if self.first_run is not None:
            self.first_run.close_subscriptions()
            self.first_run.close()
        if self.telemetry is not None:
            self.telemetry.close()
        for sub in self._subs:
            sub.cancel()
        self.app.safety.lock(actor="ui")
        self.conversation.close()
