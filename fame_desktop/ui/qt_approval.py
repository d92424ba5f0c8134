"""The approval dialog: what promoting an evolution run's winner changes, before it is promoted.

Shows the unified diff against the version answering today (highlighted), the fitness of both,
how the winner compares and the description the promoted version will carry; promoting takes an
explicit click on Promote (Cancel is the default button, so Enter does not promote).
"""

from __future__ import annotations

import html

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from fame_desktop.orchestrator.evolution.describe import fitness_text
from fame_desktop.orchestrator.evolution.review import Review


def diff_html(diff: str, *, dark: bool = False) -> str:
    """``diff`` highlighted with inline styles (QTextBrowser has no stylesheet classes)."""
    if not diff.strip():
        return "<p><i>The two programs are the same.</i></p>"
    style = "monokai" if dark else "friendly"
    spans = highlight(diff, DiffLexer(), HtmlFormatter(noclasses=True, nowrap=True, style=style))
    return f'<pre style="font-family:monospace;">{spans}</pre>'


class QtApprovalDialog(QDialog):
    """Asks an admin to confirm a promotion after seeing the change.

    Args:
        review: The run's winner against the version answering today.
        parent: The evolution panel.
    """

    def __init__(self, review: Review, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.review = review
        self.setObjectName("approvalDialog")
        self.setWindowTitle(f"Promote the winner of {review.run_id}?")
        self.resize(760, 560)
        heading = QLabel(
            f"<b>{html.escape(review.title)}</b> ({html.escape(review.recipe_id)}): promote the winner "
            f"of run {html.escape(review.run_id)} in place of {html.escape(review.current_label)}?",
            self,
        )
        heading.setWordWrap(True)
        self.fitness = QLabel(self._fitness_html(), self)
        self.fitness.setObjectName("approvalFitness")
        self.fitness.setWordWrap(True)
        self.diff = QTextBrowser(self)
        self.diff.setObjectName("approvalDiff")
        self.diff.setAccessibleName("Changes the promotion makes")
        dark = self.palette().window().color().lightness() < 128
        self.diff.setHtml(diff_html(review.diff, dark=dark))
        description = QLabel(f"Answers will describe it as: <i>{html.escape(review.description)}</i>", self)
        description.setObjectName("approvalDescription")
        description.setWordWrap(True)
        buttons = QDialogButtonBox(self)
        self.promote_button = QPushButton("Promote", self)
        self.promote_button.setObjectName("approvalPromote")
        self.promote_button.setAutoDefault(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("approvalCancel")
        self.cancel_button.setDefault(True)
        buttons.addButton(self.promote_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.fitness)
        layout.addWidget(self.diff, 1)
        layout.addWidget(description)
        layout.addWidget(buttons)
        self.cancel_button.setFocus()

    def _fitness_html(self) -> str:
        r = self.review
        rows = (
            (f"Today ({r.current_label})", fitness_text(r.current_fitness)),
            ("Winner", fitness_text(r.winner_fitness)),
        )
        body = "".join(
            f"<tr><td><b>{html.escape(name)}</b></td><td>{html.escape(text)}</td></tr>" for name, text in rows
        )
        verdict = (
            f"<p>Measured side by side in the run: {html.escape(r.improvement)}.</p>" if r.improvement else ""
        )
        return f'<table cellspacing="0" cellpadding="3">{body}</table>{verdict}'
