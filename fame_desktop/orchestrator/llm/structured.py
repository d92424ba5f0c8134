"""Structured model output: JSON schemas callers pass as ``json_schema=``, and reading the answers.

llama.cpp turns a schema into a grammar (the output cannot be anything else); OpenAI-compatible
endpoints get it as ``response_format``. Some endpoints ignore ``response_format`` and a completion
can be cut off at ``max_tokens``, so :func:`parse_json_object` still accepts JSON inside a fenced
block or surrounded by prose, and returns None (never raises) when there is no object to read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Protocol

from fame_desktop.orchestrator.llm.base import JsonSchema

_FENCED = re.compile(r"```(?:json)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def object_schema(fields: dict[str, JsonSchema]) -> dict[str, Any]:
    """A closed object with every field required (what OpenAI's strict mode demands)."""
    return {
        "type": "object",
        "properties": {name: dict(spec) for name, spec in fields.items()},
        "required": list(fields),
        "additionalProperties": False,
    }


#: Code, its tests and a short explanation (``generate_code`` outside the library).
CODE_SCHEMA: JsonSchema = object_schema(
    {"code": {"type": "string"}, "tests": {"type": "string"}, "explanation": {"type": "string"}}
)

#: One implementation (evolution's model-written candidates).
CANDIDATE_SCHEMA: JsonSchema = object_schema({"code": {"type": "string"}})


def choice_schema(options: Sequence[str]) -> dict[str, Any]:
    """An object whose ``intent`` is one of ``options`` (a constrained choice)."""
    return object_schema({"intent": {"type": "string", "enum": list(options)}})


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object a model answered with, or None when the answer holds none.

    Tries the whole text, then each fenced block, then the span from the first ``{`` to the last
    ``}`` (prose around the object).
    """
    candidates = [text.strip(), *(b.strip() for b in _FENCED.findall(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            # strict=False: llama.cpp's JSON grammar lets raw control characters into strings.
            value = json.loads(candidate, strict=False)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def answer_budget(context_size: int | None, most: int) -> int:
    """Tokens to allow a structured answer: ``most``, but at most a third of a known context (the
    prompt and, in a repair round, the previous answer and its failures need the rest)."""
    if not context_size:
        return most
    return max(128, min(most, context_size // 3))


def string_field(obj: dict[str, Any], name: str) -> str:
    """``obj[name]`` when it is a string, else "" (a model may send null or a number)."""
    value = obj.get(name)
    return value if isinstance(value, str) else ""


class _Attributed(Protocol):
    @property
    def backend(self) -> str: ...

    @property
    def model(self) -> str: ...


def model_data(source: _Attributed, fallback: _Attributed | None = None) -> dict[str, str]:
    """``{"llm_backend", "llm_model"}`` for a response's ``data``: which model wrote the answer.

    Args:
        source: The :class:`~fame_desktop.orchestrator.llm.base.Completion` (or the provider).
        fallback: Asked for what ``source`` leaves empty (the provider).
    """
    backend, model = source.backend, source.model
    if fallback is not None:
        backend, model = backend or fallback.backend, model or fallback.model
    return {"llm_backend": backend, "llm_model": model}
