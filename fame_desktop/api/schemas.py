"""Request and response bodies of the REST API (strict: unknown fields and wrong types are 422)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fame_desktop.orchestrator.query import ClientQuery, ErrorDetail, QueryResponse


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class QueryIn(ClientQuery):
    """``POST /query``: the seed's body, the domain's :class:`ClientQuery` fields.

    ``source`` is accepted for the seed's clients but always set to ``api``; the admin key comes
    from the ``X-API-Key`` header, never from the body.
    """

    model_config = ConfigDict(
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

    source: str | None = Field(default=None, max_length=32, description="Ignored: the server sets 'api'.")


class EvolutionRunIn(_Strict):
    """``POST /evolution/run``: one generation of the evolution cycle."""

    population_size: int = Field(default=5, ge=2, le=50, description="Candidates in the generation.")
    task: str = Field(min_length=1, max_length=500, description="What the candidates should do well.")


class ErrorOut(BaseModel):
    """Every non-2xx answer of the API."""

    error: ErrorDetail


# The query response is the domain's model itself: one declaration for the Brain, CLI and API.
QueryOut = QueryResponse


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
