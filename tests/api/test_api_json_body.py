"""The API's JSON bodies (orjson where it agrees with ``json.dumps``) equal what ``json.dumps`` wrote."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import uuid
from pathlib import Path
from typing import Any

import pytest

from fame_desktop.api.json_body import json_bytes


@dataclasses.dataclass
class _Point:
    x: int


class _Colour(enum.StrEnum):
    RED = "red"


def _reference(content: Any) -> bytes:
    """What the API wrote before (``SafeJSONResponse``): compact, UTF-8, ``str`` for the rest."""
    return json.dumps(content, ensure_ascii=False, default=str, separators=(",", ":")).encode("utf-8")


@pytest.mark.parametrize(
    "content",
    [
        {"id": "q_1", "text": "12 * 12", "confidence": 1.0, "plugins": ["calculator"], "error": None},
        {"résumé": "naïve ☃ 日本", "emoji": "\U0001f600"},
        {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
        {"set": {3}, "path": Path("/tmp/x"), "bytes": b"ab", "complex": 1j},
        {"when": datetime.datetime(2026, 12, 2, 8, 0, 1, 5), "day": datetime.date(2026, 1, 2)},
        {"point": _Point(1), "colour": _Colour.RED, "uuid": uuid.UUID(int=7)},
        {"huge": 2**200, "negative": -(2**70), "small": 0.1, "big": 1e300, "zero": -0.0},
        {"deep": [[[[[[[[[[{"x": (1, 2)}]]]]]]]]]]},
        [1, "two", 3.0, [], {}],
        "a plain string",
    ],
)
def test_bodies_equal_json_dumps(content: Any) -> None:
    assert json_bytes(content) == _reference(content)


def test_nesting_orjson_refuses_goes_through_json() -> None:
    deep: Any = 1
    for _ in range(300):
        deep = [deep]
    assert json_bytes(deep) == _reference(deep)


def test_what_is_not_json_at_all_still_raises() -> None:
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(ValueError):
        json_bytes(circular)
    with pytest.raises(TypeError):
        json_bytes({(1, 2): "tuple key"})


def test_the_two_documented_differences_are_valid_json() -> None:
    class Plain(enum.Enum):
        A = 1

    assert json.loads(json_bytes({"nan": math.nan, "inf": math.inf})) == {"nan": None, "inf": None}
    assert json_bytes(Plain.A) == b"1"
