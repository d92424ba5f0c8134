"""The query request's light check agrees with its pydantic model, and the REST API's document is
unchanged.

A request the light check accepts must be the one pydantic would build, and anything else must get
pydantic's answer (its error, worded as before); the OpenAPI document, whose query body extends
the same model, is the one main published before the check was added.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fame_desktop.api.server import create_api
from fame_desktop.app import build_app
from fame_desktop.orchestrator import query_models
from fame_desktop.orchestrator.errors import InvalidRequest
from fame_desktop.orchestrator.query import QueryRequest, parse_request

OPENAPI = Path(__file__).with_name("data") / "openapi.json"

TEXTS: list[Any] = [
    "what is 2+2", "", " ", "\t\n", "a\x00b", "tab\there", "zero\u200bwidth", "\u00e9t\u00e9", "x" * 4000,
    "x" * 4001, "lone \ud800", "line\n", 1, None, b"bytes", ["what"],
]  # fmt: skip
VALUES: dict[str, list[Any]] = {
    "intent": [None, "calculate", "chat", "bogus", "", "calculate\n", 1, True],
    "user": [None, "ana", "", "u" * 64, "u" * 65, "\u00e9", "\udc00", 5, ["ana"]],
    "id": [None, "q-1.a:b", "q_1", "", "a b", "q\n", "\u0661", "i" * 64, "i" * 65, 7, "\ud800"],
    "params": [{}, {"a": [1, {"b": None}]}, {"x": "\ud800"}, {"\ud800": 1}, {1: 2}, [], None, {"k": b"v"}],
    "source": ["cli", "api", "python", "nope", "", None, 1, "CLI"],
    "admin_key": [None, "k" * 256, "k" * 257, "", 1, "\ud800"],
}


def _outcome(validate: Any, data: object) -> tuple[Any, ...]:
    try:
        built = validate(data)
    except ValidationError as exc:
        return ("error", repr(exc.errors()), str(exc))
    return ("ok", repr(built.model_dump()))


def _cases() -> list[object]:
    cases: list[object] = [{"text": text} for text in TEXTS]
    cases += [{"text": "hi", name: value} for name, values in VALUES.items() for value in values]
    rng = random.Random(15)
    for _ in range(2000):
        data: dict[Any, Any] = {"text": rng.choice(TEXTS)} if rng.random() < 0.9 else {}
        for name in rng.sample(list(VALUES), rng.randint(0, 4)):
            data[name] = rng.choice(VALUES[name])
        if rng.random() < 0.05:
            data[rng.choice(["surprise", 1, "Text"])] = 1
        cases.append(data)
    return [*cases, [], "x", None]


def test_every_request_gets_pydantics_answer() -> None:
    model = query_models.QueryRequest
    for data in _cases():
        assert _outcome(QueryRequest.model_validate, data) == _outcome(model.model_validate, data), data


def test_parse_request_words_errors_as_before() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_request({"text": "a\x01", "id": "a b", "surprise": 1})
    assert str(caught.value) == (
        "Invalid request: 'text': Value error, contains control characters; "
        "'id': String should match pattern '^[A-Za-z0-9_.:-]+$'; 'surprise' is not an allowed field."
    )
    with pytest.raises(InvalidRequest, match=r"^The request must be an object"):
        parse_request(["what is 2+2"])


def test_the_light_request_behaves_as_the_model_did() -> None:
    raw = {"text": "2 + 2", "user": "ana", "params": {"a": 1}}
    request = parse_request(raw)
    assert repr(request) == repr(query_models.QueryRequest.model_validate(raw))
    assert request == parse_request(dict(raw)) and request.params is not raw["params"]
    with pytest.raises(ValidationError, match="Instance is frozen"):
        request.text = "3 + 3"  # type: ignore[misc]
    copy = request.model_copy(update={"text": "3 + 3"})
    assert (copy.text, copy.user, request.text) == ("3 + 3", "ana", "2 + 2")
    assert QueryRequest(text="hi").source == "python"
    with pytest.raises(ValidationError):
        QueryRequest(text="")


async def test_the_openapi_document_is_unchanged(tmp_path: Path) -> None:
    # The document main published (at aa0dfa0) before the query's light check was added.
    app = build_app(tmp_path / "data")
    try:
        assert create_api(app).openapi() == json.loads(OPENAPI.read_text())
    finally:
        await app.aclose()
