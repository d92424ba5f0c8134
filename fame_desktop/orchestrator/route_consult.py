"""Asking the language model to route a query no plugin is confident about.

Only an *uncertain* route (:attr:`~fame_desktop.orchestrator.routing.Route.uncertain`: the
classifier's low-probability or low-coverage chat fallback) is offered to the model, so every
query the router is confident about routes exactly as without a model. The model answers with a
constrained choice (a JSON schema whose ``intent`` is an enum of the plugins' intents: a grammar
for llama.cpp, ``response_format`` for endpoints); any failure keeps the chat fallback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.llm import ChatMessage, LlmProvider
from fame_desktop.orchestrator.llm.structured import choice_schema, parse_json_object, string_field
from fame_desktop.orchestrator.routing import FALLBACK_INTENT, Route
from fame_plugin_api import INTENTS

log = logging.getLogger("fame.routing")

#: Longest wait for the model's choice before the query is answered as chat.
CONSULT_TIMEOUT_S = 20.0

SYSTEM = (
    "You route a user's request to the one assistant skill that should answer it. Answer with a "
    'JSON object {"intent": "<one of the listed intents>"}; choose "chat" for greetings, small '
    "talk, questions and explanations that no other skill covers."
)


def consult_messages(text: str, intents: Sequence[str]) -> list[ChatMessage]:
    """The classification request: every intent with what it covers, then the request."""
    listing = "\n".join(f"- {name}: {INTENTS.get(name, 'a plugin skill')}" for name in intents)
    user = f"Intents:\n{listing}\n\nRequest: {text}"
    return [ChatMessage("system", SYSTEM), ChatMessage("user", user)]


async def model_route(
    provider: LlmProvider,
    text: str,
    route: Route,
    intents: Sequence[str],
    *,
    query_id: str | None = None,
    timeout_s: float = CONSULT_TIMEOUT_S,
) -> tuple[Route, dict[str, str]]:
    """The model's choice for an uncertain ``route`` (the route itself when it is not uncertain).

    Returns:
        The route to take (``decided_by="model"`` when the model chose) and what to audit:
        ``llm_backend``, ``llm_model``, ``choice`` or ``problem``.
    """
    if not route.uncertain or route.explicit:
        return route, {}
    options = sorted({*intents, FALLBACK_INTENT})
    info = {"llm_backend": provider.backend, "llm_model": provider.model}
    try:
        async with asyncio.timeout(timeout_s):
            completion = await provider.complete(
                consult_messages(text, options),
                temperature=0.0,
                max_tokens=64,  # the object is ~30 characters; a byte-level vocabulary spends one each
                json_schema=choice_schema(options),
                query_id=query_id,
            )
    except (FameError, TimeoutError) as exc:
        problem = exc.message if isinstance(exc, FameError) else f"no answer within {timeout_s:g} s"
        log.warning("routing by the model failed: %s", problem)
        return route, {**info, "problem": problem}
    answer = parse_json_object(completion.text)
    choice = string_field(answer, "intent") if answer is not None else ""
    if choice not in options:
        return route, {**info, "problem": f"not an intent: {completion.text[:80]!r}"}
    log.info("uncertain route (%.2f) chosen by the model: %s", route.confidence, choice)
    chosen = dataclasses.replace(route, intent=choice, decided_by="model")
    return chosen, {**info, "choice": choice}
