"""Routing in the chat: the "did you mean?" buttons, and feedback under every answer.

Under each answer the chat shows "good", "bad" (thumbs up/down; plain words, since an emoji
font is not everywhere) and "wrong plugin?" as links; the last opens a menu of
intents, records the correction (which retrains the router for this user) and answers the
question again the way the user meant. When the Brain asks which intent was meant, the two
choices appear as buttons above the input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QAction, QCursor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QWidget

from fame_desktop.orchestrator.conversation_model import ConversationModel
from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.route_choice import label
from fame_plugin_api import INTENTS

if TYPE_CHECKING:
    from fame_desktop.app import App
    from fame_desktop.ui.qt_workers import QtWorkerManager

RATE_SCHEME = "fame-feedback"
ROUTE_SCHEME = "fame-route"


class QtRouteFeedback(QObject):
    """The clarify bar, the feedback links' HTML and what their clicks do.

    Args:
        app: The services and Brain (feedback goes to ``app.brain.feedback``).
        workers: Runs the feedback and the re-asked question off the click.
        conversation: The conversation shown.
        status: Shows a short confirmation in the chat's status line.
        parent: The chat pane.
    """

    def __init__(
        self,
        app: App,
        workers: QtWorkerManager,
        conversation: ConversationModel,
        status: Callable[[str], None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._app = app
        self._workers = workers
        self._conversation = conversation
        self._status = status
        self._messages: dict[int, dict[str, Any]] = {}  # message index -> its meta
        self.route_menu: QMenu | None = None
        self._menu_meta: dict[str, Any] | None = None
        self._clarify_meta: dict[str, Any] | None = None
        self.bar = QWidget(parent)
        self.bar.setObjectName("clarifyBar")
        self._bar_layout = QHBoxLayout(self.bar)
        self._bar_layout.setContentsMargins(0, 0, 0, 0)
        self._question = QLabel("", self.bar)
        self._question.setWordWrap(True)
        self._bar_layout.addWidget(self._question, 1)
        self.buttons: list[QPushButton] = []
        self.bar.setVisible(False)

    # --- under each answer -------------------------------------------------------------------

    def links_html(self, index: int, meta: dict[str, Any]) -> str:
        """The feedback links for the message at ``index`` (empty for messages without a route)."""
        if not meta.get("query_id") or not meta.get("intent") or meta.get("clarify"):
            return ""
        self._messages[index] = meta
        return (
            f' · <a href="{RATE_SCHEME}:up/{index}" title="A good answer (thumbs up)">good</a>'
            f' <a href="{RATE_SCHEME}:down/{index}" title="A bad answer (thumbs down)">bad</a>'
            f' · <a href="{ROUTE_SCHEME}:{index}" title="Answer with another plugin">wrong plugin?</a>'
        )

    def forget_from(self, index: int) -> None:
        """Messages from ``index`` on are no longer shown."""
        for key in [k for k in self._messages if k >= index]:
            del self._messages[key]

    def handle_link(self, url: QUrl) -> bool:
        """Act on a feedback link; False when ``url`` is not one."""
        scheme = url.scheme()
        if scheme == RATE_SCHEME:
            verdict, _, index = url.path().partition("/")
            meta = self._messages.get(int(index)) if index.isdigit() else None
            if meta is not None and verdict in ("up", "down"):
                self._send(meta, rating=1 if verdict == "up" else -1)
            return True
        if scheme == ROUTE_SCHEME:
            path = url.path()
            meta = self._messages.get(int(path)) if path.isdigit() else None
            if meta is not None:
                self._open_menu(meta)
            return True
        return False

    def _open_menu(self, meta: dict[str, Any]) -> None:
        menu = QMenu(self.bar.parentWidget())
        menu.setObjectName("routeMenu")
        menu.setTitle("Answer with")
        for intent in INTENTS:
            if intent == meta.get("intent"):
                continue
            action = menu.addAction(f"{label(intent)} ({intent})")
            action.setData(intent)
        # Bound methods, not lambdas: a lambda holding ``self`` ties Qt objects into cycles that
        # the garbage collector may then free from a worker thread.
        self._menu_meta = meta
        menu.triggered.connect(self._on_menu_action)
        # A menu is made per click: it goes once it closes, taking its connections with it.
        menu.aboutToHide.connect(menu.deleteLater)
        self.route_menu = menu
        menu.popup(QCursor.pos())

    def _on_menu_action(self, action: QAction) -> None:
        if self._menu_meta is not None:
            self.correct(self._menu_meta, str(action.data()))

    def correct(self, meta: dict[str, Any], intent: str) -> None:
        """Record that ``intent`` was meant, then answer the question again with it."""
        if self.route_menu is not None:
            self.route_menu.close()
            self.route_menu = None

        async def run() -> None:
            await self._feedback(meta, correct=intent)
            self._status(f"Noted: “{label(intent)}” next time. Answering again…")
            await self._conversation.choose(str(meta["query_id"]), intent)

        self._workers.run(run, name="route-correction", group="query", exclusive=True)

    def _send(self, meta: dict[str, Any], *, rating: int) -> None:
        async def run() -> None:
            await self._feedback(meta, rating=rating)
            self._status("Thanks: feedback noted (it stays on this machine).")

        self._workers.run(run, name="route-rating", group="feedback")

    async def _feedback(self, meta: dict[str, Any], **kwargs: Any) -> None:
        try:
            await self._app.brain.feedback(
                query_id=str(meta["query_id"]),
                text=str(meta.get("question") or ""),
                routed=str(meta["intent"]),
                **kwargs,
            )
        except FameError as exc:
            self._status(exc.message)
            raise

    # --- "did you mean?" ---------------------------------------------------------------------

    def on_answer(self, meta: dict[str, Any]) -> None:
        """Show the choice buttons for a clarifying answer, hide them for any other."""
        options = meta.get("clarify") or []
        for button in self.buttons:
            button.deleteLater()
        self.buttons = []
        if not options:
            self.bar.setVisible(False)
            return
        self._question.setText("Did you mean:")
        for intent in options:
            button = QPushButton(label(str(intent)), self.bar)
            button.setObjectName("clarifyOption")
            button.setToolTip(INTENTS.get(str(intent), ""))
            button.setProperty("intent", str(intent))
            button.clicked.connect(self._on_option)
            self._bar_layout.addWidget(button)
            self.buttons.append(button)
        self._clarify_meta = meta
        self.bar.setVisible(True)

    def _on_option(self) -> None:
        button = self.sender()
        if isinstance(button, QPushButton) and self._clarify_meta is not None:
            self._choose(self._clarify_meta, str(button.property("intent")))

    def _choose(self, meta: dict[str, Any], intent: str) -> None:
        self.bar.setVisible(False)

        async def run() -> None:
            await self._conversation.choose(str(meta["query_id"]), intent)

        self._workers.run(run, name="clarify-choice", group="query", exclusive=True)
