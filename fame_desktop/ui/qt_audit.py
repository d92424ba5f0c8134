"""The audit pane: a lazily loaded table over the audit log, filters, detail view, verify, export.

The model fetches pages of :data:`PAGE` entries with ``AuditLog.query(limit, offset, ...)`` only as
the view scrolls (``canFetchMore``/``fetchMore``), so a log of a million entries opens at once.
New entries are prepended (the log is listed newest first) a moment after they are appended.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.audit_kinds import AuditKind
from fame_desktop.orchestrator.audit_verify import WHAT_TO_DO
from fame_desktop.orchestrator.events import AuditAppended
from fame_desktop.orchestrator.printable import escape_controls, safe_json
from fame_desktop.ui.qt_workers import QtWorkerManager

if TYPE_CHECKING:
    from fame_desktop.app import App

log = logging.getLogger("fame.ui.audit")

PAGE = 200
COLUMNS = ("#", "Time", "Kind", "Actor", "Summary")
# The kinds offered in the filter (the enum lists them all; these are the ones people look for).
KINDS = (
    AuditKind.QUERY,
    AuditKind.ROUTING,
    AuditKind.PLUGIN_RESULT,
    AuditKind.PLUGIN_REFUSED,
    AuditKind.QUERY_COMPLETED,
    AuditKind.QUERY_CANCELLED,
    AuditKind.QUERY_REJECTED,
    AuditKind.SETTINGS_CHANGED,
    AuditKind.ADMIN_ACTION,
    AuditKind.ADMIN_FAILED,
    AuditKind.PLUGIN_STATE,
    AuditKind.SANDBOX_RUN,
)
SINCE = (("Any time", 0.0), ("Last hour", 3600.0), ("Last 24 hours", 86400.0), ("Last 7 days", 7 * 86400.0))
AnyIndex = QModelIndex | QPersistentModelIndex


class QtAuditModel(QAbstractTableModel):
    """Audit entries, newest first, fetched page by page.

    Args:
        audit: The ``AuditLog``.
    """

    def __init__(self, audit: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._audit = audit
        self.rows: list[Any] = []
        self._exhausted = False
        self.filters: dict[str, Any] = {"kinds": None, "text": None, "since": None, "until": None}

    # --- Qt model --------------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        entry = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            col = index.column()
            if col == 0:
                return entry.id
            if col == 1:
                return dt.datetime.fromtimestamp(entry.ts).strftime("%Y-%m-%d %H:%M:%S")
            # Stored text is shown with its control characters escaped: a newline, CR or bidi
            # override in a field could otherwise make one entry look like two, or reorder its text.
            if col == 2:
                return escape_controls(entry.kind)
            if col == 3:
                return escape_controls(entry.actor or "-")
            return escape_controls(entry.summary)
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 4:
            return escape_controls(entry.summary)
        return None

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008 - Qt API
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008 - Qt API
        if parent.isValid() or self._exhausted:
            return
        page = list(self._audit.query(limit=PAGE, offset=len(self.rows), **self.filters))
        if len(page) < PAGE:
            self._exhausted = True
        if not page:
            return
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(page) - 1)
        self.rows.extend(page)
        self.endInsertRows()

    # --- ours ------------------------------------------------------------------------------------

    def set_filters(self, **filters: Any) -> None:
        """Replace the filters and start over from the newest entry."""
        self.beginResetModel()
        self.filters = {"kinds": None, "text": None, "since": None, "until": None} | filters
        self.rows = []
        self._exhausted = False
        self.endResetModel()
        self.fetchMore()

    def load_first_page(self) -> None:
        """Fetch the newest page again (the table was empty, or its end was reached)."""
        self._exhausted = False
        self.fetchMore()

    def newer_than(self, top: int, filters: dict[str, Any]) -> list[Any]:
        """Entries after id ``top`` matching ``filters``, newest first (blocking: any thread)."""
        fresh: list[Any] = []
        offset = 0
        while True:
            page = list(self._audit.query(limit=PAGE, offset=offset, **filters))
            newer = [e for e in page if e.id > top]
            fresh.extend(newer)
            if len(newer) < len(page) or len(page) < PAGE:
                return fresh
            offset += PAGE

    def prepend(self, top: int, fresh: list[Any]) -> int:
        """Show ``fresh`` (from :meth:`newer_than` ``top``) above the rows; 0 if the rows changed since."""
        if not fresh or not self.rows or self.rows[0].id != top:
            return 0
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self.rows[0:0] = fresh
        self.endInsertRows()
        return len(fresh)

    def entry(self, row: int) -> Any:
        """The entry shown at ``row``."""
        return self.rows[row]


class QtAuditPane(QWidget):
    """Audit table with filters, a detail view, Verify and Export.

    Args:
        app: The services (audit log and bus).
        workers: Runs verification and export off the Qt thread.
    """

    verified = Signal(object)
    exported = Signal(int)

    def __init__(self, app: App, workers: QtWorkerManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._workers = workers
        self.model = QtAuditModel(app.audit, self)
        self._build()
        self._head_timer = QTimer(self)
        self._head_timer.setSingleShot(True)
        self._head_timer.setInterval(150)
        self._head_timer.timeout.connect(self._refresh_head)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(300)
        self._filter_timer.timeout.connect(self.apply_filters)
        self._sub = app.bus.subscribe(AuditAppended, lambda _e: self._head_timer.start())
        self.model.fetchMore()

    def _refresh_head(self) -> None:
        """Show entries appended since; the query runs off the Qt thread (one at a time)."""
        model = self.model
        if not model.rows:
            model.load_first_page()
            return
        if self._workers.active("audit-head"):
            self._head_timer.start()  # one is running: look again after it
            return
        top, filters = model.rows[0].id, dict(model.filters)

        def show(fresh: list[Any]) -> None:
            if model.filters == filters:  # not re-filtered meanwhile (that reloads anyway)
                model.prepend(top, fresh)

        self._workers.run_blocking(
            lambda _cancel: model.newer_than(top, filters),
            name="audit-head",
            group="audit-head",
            on_done=show,
        )

    def _build(self) -> None:
        self.kind = QComboBox(self)
        self.kind.setObjectName("auditKindFilter")
        self.kind.setEditable(True)
        self.kind.addItem("All kinds")
        self.kind.addItems(KINDS)
        self.kind.currentTextChanged.connect(lambda _t: self._filter_timer.start())
        self.text = QLineEdit(self)
        self.text.setObjectName("auditTextFilter")
        self.text.setPlaceholderText("Filter by text…")
        self.text.setClearButtonEnabled(True)
        self.text.textChanged.connect(lambda _t: self._filter_timer.start())
        self.since = QComboBox(self)
        self.since.setObjectName("auditTimeFilter")
        for label, _seconds in SINCE:
            self.since.addItem(label)
        self.since.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.verify_button = QPushButton("Verify chain", self)
        self.verify_button.setObjectName("auditVerifyButton")
        self.verify_button.clicked.connect(self.verify)
        self.export_button = QPushButton("Export…", self)
        self.export_button.setObjectName("auditExportButton")
        self.export_button.clicked.connect(self._ask_export)
        self.result = QLabel("", self)
        self.result.setObjectName("auditResult")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.PlainText)  # never rendered as HTML
        integrity = getattr(self._app.audit, "integrity", None)
        if integrity is not None and not integrity.ok:
            self._show_broken(integrity)

        self.table = QTableView(self)
        self.table.setObjectName("auditTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((60, 140, 120, 90)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(self._on_row)
        self.detail = QPlainTextEdit(self)
        self.detail.setObjectName("auditDetail")
        self.detail.setReadOnly(True)
        self.detail.setPlaceholderText("Select an entry to see all of it.")

        filters = QHBoxLayout()
        filters.addWidget(self.kind)
        filters.addWidget(self.text, 1)
        filters.addWidget(self.since)
        filters.addWidget(self.verify_button)
        filters.addWidget(self.export_button)
        # Side by side: the bottom dock is wide and short, and the table needs the height.
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(filters)
        layout.addWidget(self.result)
        layout.addWidget(split, 1)

    def current_filters(self) -> dict[str, Any]:
        """The filters as ``AuditLog.query`` keyword arguments."""
        kind = self.kind.currentText().strip()
        text = self.text.text().strip()
        seconds = SINCE[max(0, self.since.currentIndex())][1]
        return {
            "kinds": [kind] if kind and kind != "All kinds" else None,
            "text": text or None,
            "since": time.time() - seconds if seconds else None,
            "until": None,
        }

    def apply_filters(self) -> None:
        """Reload the table with the current filters."""
        self.model.set_filters(**self.current_filters())
        self.detail.clear()

    def _on_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        e = self.model.entry(current.row())
        shown = {
            "id": e.id,
            "time": dt.datetime.fromtimestamp(e.ts).isoformat(timespec="seconds"),
            "kind": e.kind,
            "actor": e.actor,
            "summary": e.summary,
            "data": e.data,
            "hash": getattr(e, "hash", None),
        }
        self.detail.setPlainText(safe_json(shown))

    def verify(self) -> None:
        """Check the hash chain in a worker thread and show the result."""
        self.verify_button.setEnabled(False)
        self.result.setText("Verifying the audit chain…")
        audit = self._app.audit

        def done(res: Any) -> None:
            self.verify_button.setEnabled(True)
            if res.ok:
                self.result.setStyleSheet("color: #1a7f37;")
                self.result.setText(f"✔ Audit chain OK: {res.checked} entries verified.")
            else:
                self._show_broken(res)
            self.verified.emit(res)

        def failed(exc: BaseException) -> None:
            self.verify_button.setEnabled(True)
            self.result.setText(f"Verification failed: {exc}")

        self._workers.run_blocking(
            lambda _flag: audit.verify(), name="audit-verify", group="audit", on_done=done, on_error=failed
        )

    def _show_broken(self, res: Any) -> None:
        """Say what verification (or the check on opening) found, and what to do about it."""
        self.result.setStyleSheet("color: #c62828;")
        first = f" at entry {res.first_bad_id}" if res.first_bad_id is not None else ""
        found = "\n".join(f"• {escape_controls(p)}" for p in res.problems[:10])
        self.result.setText(f"✖ AUDIT CHAIN BROKEN{first}:\n{found}\n{WHAT_TO_DO}")

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export audit entries", str(Path.home() / "fame-audit.jsonl"), "JSON lines (*.jsonl)"
        )
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        """Export the entries matching the filters to ``path`` (JSONL) in a worker thread."""
        self.export_button.setEnabled(False)
        self.result.setStyleSheet("")
        self.result.setText(f"Exporting to {path}…")
        audit = self._app.audit
        filters = self.current_filters()

        def work(_flag: threading.Event) -> int:
            return int(audit.export_jsonl(path, **filters))

        def done(count: int) -> None:
            self.export_button.setEnabled(True)
            self.result.setText(f"Exported {count} entries to {path}.")
            self.exported.emit(count)

        def failed(exc: BaseException) -> None:
            self.export_button.setEnabled(True)
            self.result.setStyleSheet("color: #c62828;")
            self.result.setText(f"Export failed: {exc}. Choose another file.")

        self._workers.run_blocking(work, name="audit-export", group="audit", on_done=done, on_error=failed)

    def close_subscriptions(self) -> None:
        """Stop listening to the bus (window closing)."""
        self._sub.cancel()
        self._head_timer.stop()
        self._filter_timer.stop()
