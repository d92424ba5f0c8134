"""Response bodies as JSON bytes: orjson (C) where it gives what ``json.dumps`` gives, else ``json``.

The API encodes every answer here, so one rule holds for all endpoints: compact, UTF-8 (not
``\\u`` escapes), and a value JSON has no type for written as ``str(value)`` rather than failing
(plugin data may hold a stray set or path). orjson is about a tenth of ``json.dumps``'s CPU per
query response. Where the two would differ, the body comes from ``json.dumps`` as before: datetimes
and dataclasses go to ``str`` (orjson would write them its own way), and what orjson refuses
(integers beyond 64 bits, nesting deeper than 254, strings that are not valid Unicode) is
encoded by ``json`` (which raises for what is not encodable at all, as it did). Two values come
out differently, both as valid JSON: NaN and the infinities are ``null`` (``json`` wrote ``NaN``,
which JSON parsers refuse), and a plain ``Enum`` member is its value (``json`` wrote ``str()``).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Keys that are not strings (ints, floats, bools, None) become strings, as json.dumps makes them.
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def json_bytes(content: Any) -> bytes:
    """``content`` as compact UTF-8 JSON; values of other types as their ``str``.

    Raises:
        TypeError, ValueError, UnicodeEncodeError: ``content`` cannot be written as JSON at all
            (a circular structure, a non-string key of another type, a lone surrogate).
    """
    try:
        return orjson.dumps(content, default=str, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(content, ensure_ascii=False, default=str, separators=(",", ":")).encode("utf-8")
