"""Candidate programs from the configured LLM, asked at several temperatures.

Optional: with no model configured, or when the model fails, a run uses the library's
alternatives and mutations only. Whatever the model answers is only a candidate: the sandbox
decides whether it passes the tests.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.llm import ChatMessage, LlmProvider
from fame_desktop.orchestrator.llm.structured import (
    CANDIDATE_SCHEMA,
    answer_budget,
    parse_json_object,
    string_field,
)

log = logging.getLogger("fame.evolution")

#: Low for a safe rewrite, high for a bolder one.
TEMPERATURES = (0.2, 0.6, 1.0, 1.3)

_BLOCK = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.DOTALL)

SYSTEM = (
    'You optimise Python functions. Answer with a JSON object {"code": "..."} whose code is the '
    "complete module defining the function: standard library only, no prints, no tests."
)

#: Longest candidate asked of the model.
MAX_CANDIDATE_TOKENS = 1024


def read_candidate(text: str) -> str | None:
    """The code of a model's answer: the :data:`CANDIDATE_SCHEMA` object's ``code`` (structured
    output), else a fenced block or a bare definition (an endpoint that ignored the schema)."""
    obj = parse_json_object(text)
    if obj is not None and "code" in obj:
        code = string_field(obj, "code")
        if not code.strip():
            return None
        return (extract_code(code) if "```" in code else None) or code.strip() + "\n"
    return extract_code(text)


def extract_code(text: str) -> str | None:
    """The longest fenced code block of an answer, else the answer itself if it defines a function."""
    blocks: list[str] = [str(b).strip() for b in _BLOCK.findall(text) if str(b).strip()]
    if blocks:
        return max(blocks, key=len) + "\n"
    stripped = text.strip()
    return stripped + "\n" if stripped.startswith(("def ", "import ", "from ")) else None


def prompt(recipe: Any, reference: str) -> list[ChatMessage]:
    """Ask for a faster or smaller implementation of the recipe's entry function."""
    user = (
        f"Task: {recipe.title}.\nRewrite `{recipe.entry}` below to be faster (first) or shorter, "
        f"keeping its name, signature and behaviour exactly.\n\n```python\n{reference.rstrip()}\n```"
    )
    return [ChatMessage("system", SYSTEM), ChatMessage("user", user)]


async def propose(
    provider: LlmProvider | None, recipe: Any, reference: str, count: int, *, run_id: str
) -> tuple[list[tuple[str, str]], list[str]]:
    """Up to ``count`` proposals at varied temperatures, asked concurrently.

    Returns:
        ``(origin, code)`` proposals and the problems met (for the run record and the audit).
    """
    if provider is None or count <= 0:
        return [], []
    temps = [TEMPERATURES[i % len(TEMPERATURES)] for i in range(count)]
    messages = prompt(recipe, reference)
    results = await asyncio.gather(
        *(
            provider.complete(
                messages,
                temperature=t,
                query_id=run_id,
                json_schema=CANDIDATE_SCHEMA,
                max_tokens=answer_budget(provider.context_size, MAX_CANDIDATE_TOKENS),
            )
            for t in temps
        ),
        return_exceptions=True,
    )
    proposals: list[tuple[str, str]] = []
    problems: list[str] = []
    for temp, result in zip(temps, results, strict=True):
        if isinstance(result, asyncio.CancelledError):
            raise result
        if isinstance(result, FameError):
            problems.append(f"t={temp}: {result.message}")
            continue
        if isinstance(result, BaseException):
            problems.append(f"t={temp}: {result!r}")
            continue
        code = read_candidate(result.text)
        if code is None:
            problems.append(f"t={temp}: the answer held no code")
            continue
        proposals.append((f"llm:t={temp}", code))
    for problem in problems:
        log.warning("LLM proposal failed: %s", problem)
    return proposals, problems
