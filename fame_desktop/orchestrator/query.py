"""The query request schema (validated strictly) and the query response object."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fame_desktop.orchestrator.errors import InvalidRequest
from fame_plugin_api import INTENTS

MAX_TEXT_CHARS = 4000
# Control characters other than tab, newline and carriage return have no business in a query.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
SOURCES = ("cli", "ui", "api", "voice", "python", "test", "evolution")
# The longest admin key a request may carry.
ADMIN_KEY_MAX_CHARS = 256


class ClientQuery(BaseModel):
    """The fields of a query that its client chooses. Unknown fields and wrong types are refused.

    The REST API's body extends this model, so both validate a query the same way.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="The query.")
    intent: str | None = Field(
        default=None, description="Skip routing and use this intent: " + ", ".join(sorted(INTENTS)) + "."
    )
    user: str | None = Field(default=None, max_length=64, description="Who asks (audited).")
    id: str | None = Field(
        default=None, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", description="Client-chosen query id."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Plugin-specific parameters.")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if _CONTROL.search(value):
            raise ValueError("contains control characters")
        if not value.strip():
            raise ValueError("is empty")
        return value

    @field_validator("intent")
    @classmethod
    def _intent(cls, value: str | None) -> str | None:
        if value is not None and value not in INTENTS:
            raise ValueError(f"unknown intent; use one of {', '.join(sorted(INTENTS))}")
        return value


class QueryRequest(ClientQuery):
    """What may be asked: the client's fields plus those its front end sets (where it came from,
    and the admin key it carries)."""

    source: str = "python"
    admin_key: str | None = Field(default=None, max_length=ADMIN_KEY_MAX_CHARS)

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value not in SOURCES:
            raise ValueError(f"must be one of {', '.join(SOURCES)}")
        return value


def parse_request(raw: object) -> QueryRequest:
    """Validate a raw request (dict or :class:`QueryRequest`).

    Raises:
        InvalidRequest: naming the field and the problem.
    """
    if isinstance(raw, QueryRequest):
        return raw
    if not isinstance(raw, dict):
        raise InvalidRequest(f"The request must be an object with a 'text' field, not {type(raw).__name__}.")
    try:
        return QueryRequest.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err["loc"]) or "request"
            msg = "is not an allowed field" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(
                f"'{where}' {msg}" if msg.startswith(("is ", "contains")) else f"'{where}': {msg}"
            )
        raise InvalidRequest("Invalid request: " + "; ".join(problems) + ".") from exc


def new_query_id() -> str:
    """A fresh query id."""
    return "q_" + uuid.uuid4().hex[:16]


def safe_text(raw: object) -> str:
    """The request's text for an audit entry of a rejected request (capped, any type)."""
    text = raw.get("text") if isinstance(raw, dict) else None
    return (text if isinstance(text, str) else repr(text))[:500]


def _optional(schema: dict[str, Any], name: str) -> None:
    """Drop ``name`` from a JSON schema's required fields."""
    required = schema.get("required")
    if isinstance(required, list) and name in required:
        required.remove(name)


@dataclass
class ErrorDetail:
    """The ``error`` object: a stable ``code`` (``network_disabled``, ``plugin_error``, ...) and a
    message for a person that says how to fix it."""

    # Its own schema settings (pydantic's defaults), so it is published as before, not with those
    # of the response that holds it.
    __pydantic_config__: ClassVar[dict[str, Any]] = {}

    code: str
    message: str


def _response_schema(schema: dict[str, Any]) -> None:
    """The published schema marks every field as always present, except ``tests``."""
    _optional(schema, "tests")


# A dataclass, not a pydantic model: every query builds one, and pydantic (its import and the
# model's build) would be most of a one-shot ``fame ask``. The REST API publishes this class as
# it is (pydantic reads a dataclass, this config and the docstrings under the fields); the
# config is a plain dict so this module imports no pydantic for it.
@dataclass
class QueryResponse:
    """The query response object: what ``Brain.handle_query`` answers (as :meth:`to_dict`),
    ``fame ask --json`` prints and ``POST /query`` returns."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {
        "extra": "forbid",
        "use_attribute_docstrings": True,
        "json_schema_serialization_defaults_required": True,
        "json_schema_extra": _response_schema,
    }

    id: str
    """The query id (the client's or a fresh one)."""
    text: str
    """The query's text."""
    intent: str | None = None
    """The intent it was routed to."""
    confidence: float = 0.0
    """How sure the routing was, 0..1."""
    plugins: list[str] = field(default_factory=list)
    """The plugins that answered."""
    response: str = ""
    """The answer, for a person."""
    data: dict[str, Any] = field(default_factory=dict)
    """Plugin-specific data."""
    code: str | None = None
    """Generated code, if any."""
    test_report: dict[str, Any] | None = None
    """How the generated code did on its tests in the sandbox."""
    error: ErrorDetail | None = None
    """Why the query was not answered."""
    processing_time_ms: float = 0.0
    """Time in the Brain."""
    audit_id: int | None = None
    """The audit entry of the answer."""
    # Last, so the object's key order is the one callers always saw.
    tests: str | None = None
    """The tests that came with the generated code (present only then)."""

    def to_dict(self) -> dict[str, Any]:
        """The response as the plain object callers index: ``tests`` only when there are tests.

        ``data`` and ``test_report`` are handed on as the plugin made them (not copied or coerced).
        """
        out = {name: getattr(self, name) for name in RESPONSE_FIELDS}
        out["error"] = {"code": self.error.code, "message": self.error.message} if self.error else None
        if self.tests is None:
            del out["tests"]
        return out


#: The query response's keys, in order (``tests`` only when there are tests).
RESPONSE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(QueryResponse))
