"""The Brain's request built from an API body equals the one a full validation gives."""

from __future__ import annotations

from typing import Any

import pytest

from fame_desktop.api.schemas import QueryIn, query_request
from fame_desktop.orchestrator.errors import InvalidRequest
from fame_desktop.orchestrator.query import ADMIN_KEY_MAX_CHARS, QueryRequest, parse_request

KEY = "fame_" + "k" * 43


@pytest.mark.parametrize(
    "body",
    [
        {"text": "what is 12 * 12", "intent": "calculate"},
        {"text": "hello", "user": "ana", "id": "q-1.a:b", "params": {"a": [1, {"b": None}]}},
        {"text": "2 + 2", "source": "seed-client"},  # source is ignored: the server sets "api"
    ],
)
def test_equals_the_validated_request(body: dict[str, Any]) -> None:
    built = query_request(QueryIn.model_validate(body), KEY)
    payload = {k: v for k, v in body.items() if k != "source"}
    validated = parse_request({**payload, "source": "api", "admin_key": KEY})
    assert isinstance(built, QueryRequest)
    assert built.model_dump() == validated.model_dump()
    assert built.source == "api" and built.admin_key == KEY


def test_a_key_too_long_for_a_request_is_still_refused() -> None:
    body = QueryIn.model_validate({"text": "2 + 2"})
    with pytest.raises(InvalidRequest):
        query_request(body, "k" * (ADMIN_KEY_MAX_CHARS + 1))
    assert query_request(body, None).admin_key is None
