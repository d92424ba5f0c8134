"""The query request schema (validated strictly) and the query response object."""

from __future__ import annotations

import re
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fame_desktop.orchestrator.errors import InvalidRequest
from fame_plugin_api import INTENTS

MAX_TEXT_CHARS = 4000
# Control characters other than tab, newline and carriage return have no business in a query.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
SOURCES = ("cli", "ui", "api", "voice", "python", "test", "evolution")


class QueryRequest(BaseModel):
    """What may be asked. Unknown fields and wrong types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    intent: str | None = None
    user: str | None = Field(default=None, max_length=64)
    source: str = "python"
    id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    admin_key: str | None = Field(default=None, max_length=256)
    params: dict[str, Any] = Field(default_factory=dict)

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


def empty_response(query_id: str, text: str) -> dict[str, Any]:
    """The query response object with every public field present."""
    return {
        "id": query_id,
        "text": text,
        "intent": None,
        "confidence": 0.0,
        "plugins": [],
        "response": "",
        "data": {},
        "code": None,
        "test_report": None,
        "error": None,
        "processing_time_ms": 0.0,
        "audit_id": None,
    }
