"""The evolution panel: start a run, watch its candidates being measured, approve or roll back.

The panel holds no run state of its own: it shows what :class:`EvolutionProgress` events say and
what the runner's history holds. Runs go through the window's worker manager; approvals and
rollbacks go to the runner, which checks the admin key (the unlocked session from the settings
dialog, or ``--admin-key``) and audits everything.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.events import AdminStateChanged, EvolutionProgress
from fame_desktop.orchestrator.evolution.review import Review
from fame_desktop.orchestrator.evolution.run_id import new_run_id
from fame_desktop.ui.qt_approval import QtApprovalDialog
from fame_desktop.ui.qt_workers import QtWorker, QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App
    from fame_desktop.orchestrator.evolution.runner import EvolutionRunner

log = logging.getLogger("fame.ui.evolution")

COLUMNS = ("Candidate", "Origin", "Tests", "Bench (µs)", "Size", "Score", "Node")
HISTORY_LIMIT = 50


class QtEvolutionPanel(QWidget):
    """Runs evolution cycles from the window.

    Args:
        app: The services (``services.evolution`` is the runner, built when the panel first needs it).
        workers: Runs the cycle and the history/approval calls off the Qt thread.
    """

    def __init__(self, app: App, workers: QtWorkerManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evolutionWidget")
        self._app = app
        self._workers = workers
        self.current: str | None = None
        self.worker: QtWorker | None = None
        self.history: list[dict[str, Any]] = []
        self.approval_dialog: QtApprovalDialog | None = None
        self.promotions: dict[str, Any] = {}
        self._build()
        self._subs = [
            app.bus.subscribe(EvolutionProgress, self._on_progress),
            app.bus.subscribe(AdminStateChanged, lambda _e: self._update_buttons()),
        ]
        # Coalesces history reloads (a finished run and an approval may both ask for one).
        self._reload = QTimer(self)
        self._reload.setSingleShot(True)
        self._reload.setInterval(50)
        self._reload.timeout.connect(self.refresh_history)
        self._reload.start()

    # --- construction ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.task = QLineEdit(self)
        self.task.setObjectName("evolutionTask")
        self.task.setPlaceholderText("Task to evolve, e.g. string reversal")
        self.task.returnPressed.connect(self.start)
        self.population = QSpinBox(self)
        self.population.setObjectName("evolutionPopulation")
        self.population.setRange(2, 50)
        self.population.setValue(8)
        self.generations = QSpinBox(self)
        self.generations.setObjectName("evolutionGenerations")
        self.generations.setRange(1, 20)
        self.generations.setValue(2)
        self.start_button = QPushButton("Start", self)
        self.start_button.setObjectName("evolutionStart")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("evolutionCancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("evolutionProgress")
        self.progress.setFormat("%v / %m candidates")
        self.status = QLabel("Choose a task and start a run.", self)
        self.status.setObjectName("evolutionStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.best = QLabel("", self)
        self.best.setObjectName("evolutionBest")
        self.candidates = QTableWidget(0, len(COLUMNS), self)
        self.candidates.setObjectName("evolutionCandidates")
        self.candidates.setHorizontalHeaderLabels(list(COLUMNS))
        self.candidates.verticalHeader().setVisible(False)
        self.candidates.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.candidates.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.history_list = QListWidget(self)
        self.history_list.setObjectName("evolutionHistory")
        self.history_list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.history_list.itemActivated.connect(
            lambda item: self.show_run(item.data(Qt.ItemDataRole.UserRole))
        )
        self.history_list.setToolTip("Double-click a run to see its candidates")
        self.approve_button = QPushButton("Review and approve…", self)
        self.approve_button.setObjectName("evolutionApprove")
        self.approve_button.clicked.connect(self.approve_selected)
        self.rollback_button = QPushButton("Roll back task", self)
        self.rollback_button.setObjectName("evolutionRollback")
        self.rollback_button.clicked.connect(self.rollback_selected)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setObjectName("evolutionRefresh")
        self.refresh_button.clicked.connect(self.refresh_history)

        form = QFormLayout()
        form.addRow("Task", self.task)
        sizes = QHBoxLayout()
        sizes.addWidget(QLabel("Population", self))
        sizes.addWidget(self.population)
        sizes.addWidget(QLabel("Generations", self))
        sizes.addWidget(self.generations)
        sizes.addStretch(1)
        sizes.addWidget(self.start_button)
        sizes.addWidget(self.cancel_button)
        actions = QHBoxLayout()
        actions.addWidget(self.approve_button)
        actions.addWidget(self.rollback_button)
        actions.addStretch(1)
        actions.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(sizes)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.best)
        layout.addWidget(self.candidates, 3)
        layout.addWidget(QLabel("History", self))
        layout.addWidget(self.history_list, 2)
        layout.addLayout(actions)
        self._update_buttons()

    # --- running ---------------------------------------------------------------------------------

    @property
    def runner(self) -> EvolutionRunner:
        """The evolution runner (built on first use: the window paints before it exists)."""
        return self._app.services.evolution

    @property
    def running(self) -> bool:
        """Whether a run started here is in progress."""
        return self.worker is not None and not self.worker.state.done

    def start(self) -> None:
        """Start a run for the task in ``evolutionTask``."""
        task = self.task.text().strip()
        if self.running:
            return
        if not task:
            self.status.setText("Enter a task first, e.g. “string reversal”.")
            return
        run_id = new_run_id()
        self.current = run_id
        self.candidates.setRowCount(0)
        self.best.clear()
        self.progress.setRange(0, self.population.value())
        self.progress.setValue(0)
        self.status.setText(f"Starting {run_id}…")
        runner, population, generations = self.runner, self.population.value(), self.generations.value()

        async def job() -> Any:
            try:
                record = await runner.run(
                    task, population=population, generations=generations, actor="ui", run_id=run_id
                )
            except FameError as exc:
                self.status.setText(f"{exc.message} {exc.fix}".strip())
                return None
            finally:
                self._update_buttons()
                self._reload.start()
            return record

        self.worker = self._workers.run(job, name=f"evolution-{run_id}", group="evolution")
        self.worker.stateChanged.connect(lambda _s: self._update_buttons())
        self._update_buttons()

    def cancel(self) -> None:
        """Stop the current run (it ends as ``cancelled``, its results so far kept)."""
        if self.current is None or not self.running:
            return
        if not self.runner.cancel(self.current):
            assert self.worker is not None
            self.worker.cancel()
        self.status.setText(f"Cancelling {self.current}…")

    def _on_progress(self, event: EvolutionProgress) -> None:
        stage = event.data.get("stage", "")
        if stage in ("promoted", "rolled_back"):
            self.status.setText(event.message)
            self._reload.start()
            return
        if event.run_id != self.current:
            return
        if stage == "generation_started":
            self.progress.setRange(0, int(event.data.get("total", 0)))
            self.progress.setValue(0)
        elif stage == "candidate":
            self.progress.setValue(int(event.data.get("evaluated", 0)))
            self._add_candidate(event.generation, event.data.get("candidate", {}))
        elif stage == "finished":
            self._reload.start()
        if event.best_fitness is not None:
            self.best.setText(f"Generation {event.generation} · best score {event.best_fitness:.3f}")
        self.status.setText(f"Generation {event.generation}: {event.message}")

    def _add_candidate(self, generation: int, cand: dict[str, Any]) -> None:
        fit = cand.get("fitness", {})
        bench = fit.get("bench_ns")
        tests = f"{fit.get('passed', 0)}/{fit.get('passed', 0) + fit.get('failed', 0)}"
        if not fit.get("correct"):
            tests += f" ({fit.get('status', '?')})"
        values = (
            str(cand.get("id", f"g{generation}")),
            str(cand.get("origin", ""))
            + ("+" + "+".join(cand["operators"]) if cand.get("operators") else ""),
            tests,
            f"{bench / 1000:.1f}" if isinstance(bench, int) else "-",
            str(cand.get("size", "")),
            f"{float(cand.get('score', 0.0)):.3f}",
            # Where it ran: the cluster node on the swarm backend, empty on one engine.
            str(fit.get("node") or ""),
        )
        row = self.candidates.rowCount()
        self.candidates.insertRow(row)
        for col, text in enumerate(values):
            self.candidates.setItem(row, col, QTableWidgetItem(text))
        self.candidates.scrollToBottom()

    # --- history, approval, rollback -------------------------------------------------------------

    def refresh_history(self) -> None:
        """Reload the run history and promotions (read from disk in a worker thread)."""

        def load(_flag: threading.Event) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            runner = self.runner  # the first use builds it here, off the Qt thread
            return runner.history(HISTORY_LIMIT), runner.promotions()

        self._workers.run_blocking(
            load, name="evolution-history", group="evolution-io", on_done=self._show_history
        )

    def _show_history(self, result: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
        runs, promotions = result
        self.history = runs
        self.promotions = {p["recipe_id"]: p for p in promotions}
        selected = self.selected_run()
        keep = selected["id"] if selected else None
        self.history_list.clear()
        for run in runs:
            active = (self.promotions.get(run.get("recipe_id") or "") or {}).get("active")
            mark = f" · promoted v{run['promoted_version']}" if run.get("promoted_version") else ""
            if mark and active == run.get("promoted_version"):
                mark += " (active)"
            text = f"{run['id']}  {run.get('recipe_id') or '-'}  [{run['status']}]  {run.get('improvement') or ''}{mark}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, run["id"])
            item.setToolTip(run.get("message", ""))
            self.history_list.addItem(item)
            if run["id"] in (keep, self.current):
                self.history_list.setCurrentItem(item)
        self._update_buttons()

    def show_run(self, run_id: str) -> None:
        """Show a past run's candidates, every generation, and its verdict (read in a worker thread)."""
        runner = self.runner
        if self.running:
            return

        def shown(run: dict[str, Any]) -> None:
            self.candidates.setRowCount(0)
            for gen in run.get("results", []):
                for cand in gen.get("candidates", []):
                    self._add_candidate(int(gen.get("generation", 0)), cand)
            last = (run.get("results") or [{}])[-1]
            self.best.setText(f"Best {last.get('best', '-')} · score {last.get('best_score', '-')}")
            self.status.setText(
                f"{run['id']} ({run.get('title') or run.get('task')}): {run.get('message', '')}"
            )

        self._workers.run_blocking(
            lambda _f: runner.store.run(run_id), name="evolution-show", group="evolution-io", on_done=shown
        )

    def selected_run(self) -> dict[str, Any] | None:
        """The history entry selected in ``evolutionHistory``."""
        item = self.history_list.currentItem()
        if item is None:
            return None
        run_id = item.data(Qt.ItemDataRole.UserRole)
        return next((r for r in self.history if r["id"] == run_id), None)

    def _is_admin(self) -> bool:
        return self._app.safety.unlocked or bool(self._app.admin_key)

    def _update_buttons(self) -> None:
        self.start_button.setEnabled(not self.running)
        self.cancel_button.setEnabled(self.running)
        run = self.selected_run()
        admin = self._is_admin()
        hint = "" if admin else "Unlock admin in Settings first."
        can_approve = bool(run and run.get("better") and not run.get("promoted_version"))
        active = (self.promotions.get((run or {}).get("recipe_id") or "") or {}).get("active")
        self.approve_button.setEnabled(admin and can_approve)
        self.approve_button.setToolTip(
            hint or "See the change against the version answering today, then promote it (audited)."
        )
        self.rollback_button.setEnabled(admin and active is not None)
        self.rollback_button.setToolTip(hint or "Step the selected run's task back one version (audited).")

    def _admin_call(self, name: str, fn: Any) -> None:
        def done(message: str) -> None:
            self.status.setText(message)
            self._reload.start()

        def failed(exc: BaseException) -> None:
            text = f"{exc.message} {exc.fix}".strip() if isinstance(exc, FameError) else repr(exc)
            self.status.setText(text)
            self._update_buttons()

        self._workers.run_blocking(
            lambda _f: fn(), name=name, group="evolution-io", on_done=done, on_error=failed
        )

    def approve_selected(self) -> QtWorker | None:
        """Show what promoting the selected run's winner changes; promote once the admin confirms.

        The review (diff against the version answering today, fitness of both) is read in a
        worker; the dialog is ``approval_dialog`` while it is open. The runner checks the admin
        key and audits the promotion.
        """
        run, runner = self.selected_run(), self.runner
        if run is None or runner is None:
            return None
        run_id = str(run["id"])

        def failed(exc: BaseException) -> None:
            self.status.setText(
                f"{exc.message} {exc.fix}".strip() if isinstance(exc, FameError) else repr(exc)
            )

        return self._workers.run_blocking(
            lambda _f: runner.review(run_id),
            name="evolution-review",
            group="evolution-io",
            on_done=self._confirm,
            on_error=failed,
        )

    def _confirm(self, review: Review) -> None:
        if self.approval_dialog is not None:
            self.approval_dialog.close()
        dialog = QtApprovalDialog(review, self)
        self.approval_dialog = dialog
        dialog.accepted.connect(lambda: self._promote(review.run_id))
        dialog.finished.connect(lambda _result: self._forget_dialog(dialog))
        self.status.setText(f"Review the change before promoting {review.run_id}.")
        dialog.open()

    def _forget_dialog(self, dialog: QtApprovalDialog) -> None:
        if self.approval_dialog is dialog:
            self.approval_dialog = None
        dialog.deleteLater()

    def _promote(self, run_id: str) -> None:
        runner, key = self.runner, self._app.admin_key
        if runner is None:
            return

        def approve() -> str:
            promoted = runner.approve(run_id, key=key, actor="ui")
            return f"{promoted.recipe_id} is now v{promoted.version}: code generation answers with it."

        self._admin_call("evolution-approve", approve)

    def rollback_selected(self) -> None:
        """Step the selected run's task back to its previous version (or the library original)."""
        run, runner, key = self.selected_run(), self.runner, self._app.admin_key
        if run is None or not run.get("recipe_id"):
            return
        recipe_id = str(run["recipe_id"])

        def rollback() -> str:
            retired, now = runner.rollback(recipe_id, key=key, actor="ui")
            return (
                f"{recipe_id}: v{retired} retired; now {'v' + str(now) if now else 'the library original'}."
            )

        self._admin_call("evolution-rollback", rollback)

    def close_subscriptions(self) -> None:
        """Stop observing the bus (window closing)."""
        for sub in self._subs:
            sub.cancel()
        self._subs = []
