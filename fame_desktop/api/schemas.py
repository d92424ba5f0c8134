"""Request and response bodies of the REST API (strict: unknown fields and wrong types are 422)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fame_desktop.orchestrator.query import MAX_TEXT_CHARS
from fame_plugin_api import INTENTS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class QueryIn(_Strict):
    """``POST /query``: the seed's body. ``source`` is accepted but always set to ``api``."""

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="The query.")
    intent: str | None = Field(
        default=None, description="Skip routing and use this intent: " + ", ".join(sorted(INTENTS)) + "."
    )
    user: str | None = Field(default=None, max_length=64, description="Who asks (audited).")
    source: str | None = Field(default=None, max_length=32, description="Ignored: the server sets 'api'.")
    id: str | None = Field(default=None, max_length=64, description="Client-chosen query id.")
    params: dict[str, Any] = Field(default_factory=dict, description="Plugin-specific parameters.")

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "text": "Write a Python function to reverse a string",
                    "intent": "generate_code",
                    "user": "test_user",
                }
            ]
        },
    )


class EvolutionRunIn(_Strict):
    """``POST /evolution/run``: one generation of the evolution cycle."""

    population_size: int = Field(default=5, ge=2, le=50, description="Candidates in the generation.")
    task: str = Field(min_length=1, max_length=500, description="What the candidates should do well.")


class ErrorDetail(BaseModel):
    """The ``error`` object (same codes as the query response)."""

    code: str
    message: str


class ErrorOut(BaseModel):
    """Every non-2xx answer of the API."""

    error: ErrorDetail


class QueryOut(BaseModel):
    """The query response object (the same one ``fame ask --json`` prints)."""

    model_config = ConfigDict(extra="allow")

    id: str
    text: str
    intent: str | None
    confidence: float
    plugins: list[str]
    response: str
    data: dict[str, Any]
    code: str | None
    test_report: dict[str, Any] | None
    error: ErrorDetail | None
    processing_time_ms: float
    audit_id: int | None


class AuditEntryOut(BaseModel):
    """One audit log entry."""

    id: int
    ts: float
    kind: str
    actor: str | None
    summary: str
    data: dict[str, Any]
    hash: str


class HealthOut(BaseModel):
    """``GET /health``: public part; ``details`` only for a caller with a valid key."""

    status: str
    version: str
    uptime_s: float
    plugins_loaded: int
    plugins_failed: int
    docker_available: bool
    details: dict[str, Any] | None = None
