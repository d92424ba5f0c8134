"""The query request (validated strictly, without pydantic when that is exact) and the response.

Every query is validated, and pydantic (its import and the models' build) was about a fifth of a
one-shot ``fame ask``. So the Brain's :class:`QueryRequest` is a light frozen object: a request is
accepted here only when the pydantic model would accept it unchanged (exact JSON types, inside the
limits, the fields' own validators pass). Anything else, an error or a coercion, goes to the
pydantic models (:mod:`~fame_desktop.orchestrator.query_models`, imported on first need), which
stay the one declaration of the schema: ``ClientQuery`` (which the REST API's body extends) and
the full request, so results and messages are pydantic's, as before.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, Self

from fame_desktop.orchestrator.errors import InvalidRequest
from fame_desktop.orchestrator.query_fields import (
    ADMIN_KEY_MAX_CHARS as ADMIN_KEY_MAX_CHARS,  # where the REST API reads it
)
from fame_desktop.orchestrator.query_fields import (
    ID_CHARS,
    MAX_TEXT_CHARS,
    NAME_MAX_CHARS,
    SURROGATE,
    check_intent,
    check_source,
    check_text,
)
from fame_plugin_api.light_model import LightModel

if TYPE_CHECKING:
    from pydantic import BaseModel

    from fame_desktop.orchestrator.query_models import ClientQuery as ClientQuery


def _plain_str(value: object, max_chars: int | None = None) -> bool:
    return (
        type(value) is str and (max_chars is None or len(value) <= max_chars) and not SURROGATE.search(value)
    )


def _plain_optional(value: object, max_chars: int) -> bool:
    return value is None or _plain_str(value, max_chars)


_MISSING: Any = object()


class QueryRequest(LightModel):
    """What may be asked: the client's fields (``ClientQuery``: ``text``, ``intent``, ``user``,
    ``id``, ``params``) plus those its front end sets (``source``, where it came from, and the
    ``admin_key`` it carries). Frozen; built by :func:`parse_request` (or :meth:`model_validate`).
    """

    __slots__ = ("admin_key", "id", "intent", "params", "source", "text", "user")

    #: The fields, in the models' order.
    FIELDS: ClassVar[tuple[str, ...]] = ("text", "intent", "user", "id", "params", "source", "admin_key")

    text: str
    intent: str | None
    user: str | None
    id: str | None
    params: dict[str, Any]
    source: str
    admin_key: str | None

    @classmethod
    def pydantic_model(cls) -> type[BaseModel]:
        """The request's pydantic model."""
        from fame_desktop.orchestrator import query_models  # on first need: see the module's docstring

        return query_models.QueryRequest

    @classmethod
    def _plain(cls, raw: dict[Any, Any]) -> Self | None:
        """The request for ``raw`` if the model would accept it unchanged, else None (ask it)."""
        if not all(type(key) is str for key in raw) or not raw.keys() <= _FIELD_SET:
            return None
        text = raw.get("text", _MISSING)
        intent = raw.get("intent")
        user = raw.get("user")
        id_ = raw.get("id")
        params = raw.get("params", _MISSING)
        source = raw.get("source", "python")
        admin_key = raw.get("admin_key")
        if not (
            _plain_str(text, MAX_TEXT_CHARS)
            and text
            and (intent is None or type(intent) is str)
            and _plain_optional(user, NAME_MAX_CHARS)
            and (id_ is None or (_plain_str(id_, NAME_MAX_CHARS) and ID_CHARS.fullmatch(id_)))
            and (params is _MISSING or (type(params) is dict and all(_plain_str(k) for k in params)))
            and type(source) is str
            and _plain_optional(admin_key, ADMIN_KEY_MAX_CHARS)
        ):
            return None
        try:
            check_text(text)
            check_intent(intent)
            check_source(source)
        except ValueError:
            return None  # the model words the error
        return cls.model_construct(
            text=text,
            intent=intent,
            user=user,
            id=id_,
            params={} if params is _MISSING else dict(params),  # the model's copy
            source=source,
            admin_key=admin_key,
        )

    @classmethod
    def model_construct(cls, **values: Any) -> Self:
        """A request from values already valid (not checked again); unset fields get defaults."""
        return cls._construct({**_DEFAULTS, "params": {}, **values})  # a new {} each time


_FIELD_SET = frozenset(QueryRequest.FIELDS)
_DEFAULTS: dict[str, Any] = {
    "intent": None,
    "user": None,
    "id": None,
    "source": "python",
    "admin_key": None,
}


def __getattr__(name: str) -> object:
    # ClientQuery is a pydantic model (the REST API's body extends it): imported on first use.
    if name == "ClientQuery":
        from fame_desktop.orchestrator.query_models import ClientQuery

        return ClientQuery
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse_request(raw: object) -> QueryRequest:
    """Validate a raw request (dict or :class:`QueryRequest`).

    Raises:
        InvalidRequest: naming the field and the problem.
    """
    if isinstance(raw, QueryRequest):
        return raw
    if not isinstance(raw, dict):
        raise InvalidRequest(f"The request must be an object with a 'text' field, not {type(raw).__name__}.")
    if type(raw) is dict:
        plain = QueryRequest._plain(raw)
        if plain is not None:
            return plain
    from pydantic import ValidationError  # the model below imports it

    try:
        return QueryRequest._from_model(QueryRequest.pydantic_model().model_validate(raw))
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
