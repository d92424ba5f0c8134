"""What the Brain does with a route beyond taking it: ask when unsure, split a two-part query.

A near tie between two intents is answered with a short question and the two choices (the window
shows them as buttons, the CLI asks, the API returns them in ``data.clarify``); the request that
comes back names the chosen intent and the options it chose from, and the choice is remembered
for that conversation, so the same dilemma is not asked twice.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from fame_desktop.orchestrator.routing import FALLBACK_INTENT, Route, Router
from fame_plugin_api import INTENTS

#: Request parameters the clarification round trip uses.
CONVERSATION_PARAM = "conversation_id"
OPTIONS_PARAM = "clarify_options"
#: Conversations whose choices are remembered at once (oldest forgotten first).
MAX_CONVERSATIONS = 256
#: A part of a multi-intent query must be routed at least this surely to be answered on its own.
PART_CONFIDENCE = 0.6

_JOINERS = re.compile(
    r"\s*(?:;|,?\s+and then\s+|,?\s+and also\s+|,?\s+then\s+|,?\s+also\s+|,?\s+and\s+)\s*", re.I
)

#: Short names people recognise, for the question and the buttons.
LABELS: dict[str, str] = {
    "generate_code": "Write code",
    "architecture_design": "Design a system",
    "market_analysis": "Crypto market",
    "web_search": "Search the web",
    "evolution": "Evolve a solution",
    "security_test": "Security test",
    "chat": "Just chat",
    "system_info": "App and system status",
    "calculate": "Calculate",
    "run_code": "Run my code",
}


def label(intent: str) -> str:
    """A short human name for ``intent``."""
    return LABELS.get(intent, intent.replace("_", " ").capitalize())


def clarify_data(route: Route, text: str) -> dict[str, Any]:
    """``data.clarify`` of a response that asks which intent was meant."""
    options = [
        {"intent": intent, "label": label(intent), "description": INTENTS.get(intent, "")}
        for intent in route.alternatives
    ]
    return {
        "question": "Did you mean: " + " or ".join(f"{o['label']} ({o['intent']})" for o in options) + "?",
        "options": options,
        "text": text,
    }


def clarify_text(data: dict[str, Any]) -> str:
    """The answer's text for a clarifying question."""
    names = " or ".join(f"**{o['label']}**" for o in data["options"])
    return f"I am not sure what you meant: {names}? Pick one and I will answer."


class ChoiceMemory:
    """Per-conversation memory of which intent the user picked for a dilemma."""

    def __init__(self) -> None:
        self._choices: OrderedDict[str, dict[frozenset[str], str]] = OrderedDict()

    def remember(self, params: dict[str, Any], intent: str | None) -> None:
        """Keep the choice a clarified request carries (no-op for other requests)."""
        conversation = params.get(CONVERSATION_PARAM)
        options = params.get(OPTIONS_PARAM)
        if not (intent and isinstance(conversation, str) and isinstance(options, list)):
            return
        pair = frozenset(str(o) for o in options)
        if intent not in pair or len(pair) < 2:
            return
        self._choices.setdefault(conversation, {})[pair] = intent
        self._choices.move_to_end(conversation)
        while len(self._choices) > MAX_CONVERSATIONS:
            self._choices.popitem(last=False)

    def recall(self, params: dict[str, Any], route: Route) -> str | None:
        """The intent chosen earlier in this conversation for ``route``'s dilemma, if any."""
        conversation = params.get(CONVERSATION_PARAM)
        if not isinstance(conversation, str) or not route.ambiguous:
            return None
        return self._choices.get(conversation, {}).get(frozenset(route.alternatives))


@dataclass(frozen=True)
class Part:
    """One part of a query that asks for two things."""

    text: str
    route: Route


def split_parts(router: Router, text: str) -> list[Part] | None:
    """Two parts with different, confidently routed intents (``"btc price and write a sort"``), or
    None when the query asks for one thing.

    Only a learned router splits (keyword scores are not calibrated enough to trust on a fragment).
    """
    if router.model is None:
        return None
    for match in _JOINERS.finditer(text):
        first, second = text[: match.start()].strip(), text[match.end() :].strip()
        if len(first.split()) < 2 or len(second.split()) < 2:
            continue
        a, b = router.route(first), router.route(second)
        if (
            a.intent != b.intent
            and FALLBACK_INTENT not in (a.intent, b.intent)
            and min(a.confidence, b.confidence) >= PART_CONFIDENCE
            and not (a.ambiguous or b.ambiguous)
        ):
            return [Part(first, a), Part(second, b)]
    return None
