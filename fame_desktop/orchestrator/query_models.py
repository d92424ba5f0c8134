"""The query request's pydantic models: the one declaration of its schema.

Imported on first need (see :mod:`~fame_desktop.orchestrator.query`): by the REST API, whose body
extends :class:`ClientQuery`, and to validate (and word the errors of) a request that the light
check does not accept as it is.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fame_desktop.orchestrator.query_fields import (
    ADMIN_KEY_MAX_CHARS,
    ID_PATTERN,
    MAX_TEXT_CHARS,
    NAME_MAX_CHARS,
    check_intent,
    check_source,
    check_text,
)
from fame_plugin_api import INTENTS


class ClientQuery(BaseModel):
    """The fields of a query that its client chooses. Unknown fields and wrong types are refused.

    The REST API's body extends this model, so both validate a query the same way.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="The query.")
    intent: str | None = Field(
        default=None, description="Skip routing and use this intent: " + ", ".join(sorted(INTENTS)) + "."
    )
    user: str | None = Field(default=None, max_length=NAME_MAX_CHARS, description="Who asks (audited).")
    id: str | None = Field(
        default=None, max_length=NAME_MAX_CHARS, pattern=ID_PATTERN, description="Client-chosen query id."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Plugin-specific parameters.")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return check_text(value)

    @field_validator("intent")
    @classmethod
    def _intent(cls, value: str | None) -> str | None:
        return check_intent(value)


class QueryRequest(ClientQuery):
    """What may be asked: the client's fields plus those its front end sets (where it came from,
    and the admin key it carries).

    The model behind :class:`fame_desktop.orchestrator.query.QueryRequest` (the Brain's light
    object): its name is the one its errors have always shown.
    """

    source: str = "python"
    admin_key: str | None = Field(default=None, max_length=ADMIN_KEY_MAX_CHARS)

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        return check_source(value)
