"""Request and response bodies of the REST API (strict: unknown fields and wrong types are 422)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fame_desktop.orchestrator.query import (
    ADMIN_KEY_MAX_CHARS,
    ClientQuery,
    ErrorDetail,
    QueryRequest,
    QueryResponse,
    parse_request,
)


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


def query_request(body: QueryIn, key: str | None) -> QueryRequest:
    """The Brain's request for an API query: the body's fields, source ``api`` and the caller's key.

    Every API key is an admin key: the query carries it so admin-only plugins answer, exactly as
    ``fame ask`` does with ``--admin-key``; dangerous capabilities stay off unless enabled in the
    settings.

    Raises:
        InvalidRequest: The request is not a valid :class:`QueryRequest`.
    """
    if key is not None and len(key) <= ADMIN_KEY_MAX_CHARS:
        # Nothing left to check: QueryIn validated these fields with ClientQuery's own validators
        # (QueryRequest extends the same model), and "api" is a valid source. Validating the same
        # values again cost about a twentieth of an API request's CPU.
        fields = {name: getattr(body, name) for name in ClientQuery.model_fields}
        return QueryRequest.model_construct(**fields, source="api", admin_key=key)
    payload = body.model_dump(exclude_none=True, exclude={"source"})
    return parse_request({**payload, "source": "api", "admin_key": key})


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
