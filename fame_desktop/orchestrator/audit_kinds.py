"""Every kind of audit entry, declared once.

The values are the strings stored in the log, so entries written before this enum existed read
back the same; a new kind is a new member here, never a bare string at a call site.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Protocol


class AuditKind(StrEnum):
    """The ``kind`` of an audit entry (the stored value is the member's string)."""

    # A query's path through the Brain.
    QUERY = "query"
    ROUTING = "routing"
    ROUTING_FEEDBACK = "routing_feedback"
    PLUGIN_REFUSED = "plugin_refused"
    PLUGIN_RESULT = "plugin_result"
    QUERY_COMPLETED = "query_completed"
    QUERY_CANCELLED = "query_cancelled"
    QUERY_REJECTED = "query_rejected"
    # Settings, admin keys and plugins switched on or off.
    SETTINGS_PROBLEM = "settings_problem"
    SETTINGS_CHANGED = "settings_changed"
    SETTINGS_APPROVED = "settings_approved"
    ADMIN_ACTION = "admin_action"
    ADMIN_FAILED = "admin_failed"
    PLUGIN_STATE = "plugin_state"
    PLUGIN_AWAITING_APPROVAL = "plugin_awaiting_approval"
    PLUGIN_APPROVED = "plugin_approved"
    PLUGIN_APPROVAL_REFUSED = "plugin_approval_refused"
    PLUGIN_REVOKED = "plugin_revoked"
    # The sandbox and the REST API.
    SANDBOX_RUN = "sandbox_run"
    SANDBOX_CLUSTER = "sandbox_cluster"
    API_REQUEST = "api_request"
    API_REFUSED = "api_refused"
    API_EXPOSED = "api_exposed"
    # The evolution cycle and promotion.
    EVOLUTION_STARTED = "evolution_started"
    EVOLUTION_NO_MATCH = "evolution_no_match"
    EVOLUTION_CANDIDATE = "evolution_candidate"
    EVOLUTION_GENERATION = "evolution_generation"
    EVOLUTION_FINISHED = "evolution_finished"
    EVOLUTION_FAILED = "evolution_failed"
    EVOLUTION_CANCELLED = "evolution_cancelled"
    EVOLUTION_REFUSED = "evolution_refused"
    EVOLUTION_PROMOTED = "evolution_promoted"
    EVOLUTION_ROLLBACK = "evolution_rollback"
    # The local language models (the model manager).
    MODEL_DOWNLOAD = "model_download"
    MODEL_IMPORT = "model_import"
    MODEL_USE = "model_use"
    MODEL_REMOVE = "model_remove"
    MODEL_REFUSED = "model_refused"


class AuditAppend(Protocol):
    """What a part that only writes to the log is given: ``AuditLog.append``."""

    def __call__(
        self, kind: AuditKind, data: Mapping[str, object], *, actor: str | None = None, summary: str = ""
    ) -> object: ...


def parse_kind(value: str) -> AuditKind:
    """The kind named ``value``.

    Raises:
        ValueError: ``value`` is no kind; the message lists the kinds there are.
    """
    try:
        return AuditKind(value)
    except ValueError:
        kinds = ", ".join(kind.value for kind in AuditKind)
        raise ValueError(f"unknown audit kind {value!r}; use one of: {kinds}") from None
