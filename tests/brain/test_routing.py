"""Routing: accuracy on the labelled set, whole-word matching, explicit intents, fallback."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from routing_set import builtin_router, labelled_queries

from fame_desktop.orchestrator.routing import Router
from fame_plugin_api import parse_manifest


def test_accuracy_on_the_labelled_set_is_at_least_95_percent() -> None:
    router = builtin_router()
    pairs = labelled_queries()
    assert len(pairs) >= 150
    misses = [(want, q, router.route(q).intent) for want, q in pairs if router.route(q).intent != want]
    assert 1 - len(misses) / len(pairs) >= 0.95, misses


def test_labelled_queries_are_not_the_plugins_example_phrases() -> None:
    from fame_desktop.orchestrator.paths import builtin_plugin_dir
    from fame_plugin_api import read_manifest

    examples = set()
    for path in builtin_plugin_dir().glob("[!_]*.py"):
        for phrases in read_manifest(path).intents.values():
            examples.update(p.lower().strip() for p in phrases)
    overlap = [q for _, q in labelled_queries() if q.lower().strip() in examples]
    assert len(overlap) <= 3, overlap


def _router() -> Router:
    return Router(
        [
            parse_manifest(
                {
                    "name": "clock",
                    "version": "1.0",
                    "description": "Clock.",
                    "intents": {"system_info": ["what time is it"]},
                    "keywords": {"system_info": ["now", "time"]},
                },
                "clock",
            ),
            parse_manifest(
                {
                    "name": "talk",
                    "version": "1.0",
                    "description": "Talk.",
                    "intents": {"chat": ["hello"]},
                    "keywords": {"chat": ["hello", "hi"]},
                },
                "talk",
            ),
        ]
    )


def test_whole_words_only() -> None:
    router = _router()
    assert router.scores("I know this") == {}
    assert router.route("what time is it now").intent == "system_info"
    assert router.route("this is high").intent == "chat"  # "hi" inside "this"/"high" does not count ...
    assert router.route("this is high").confidence < 0.6  # ... so it is the low-confidence fallback


def test_explicit_intent_and_fallback() -> None:
    router = _router()
    route = router.route("anything at all", explicit="system_info")
    assert route.intent == "system_info" and route.explicit and route.confidence == 1.0
    fallback = router.route("qwertyuiop asdf")
    assert fallback.intent == "chat" and fallback.confidence <= 0.5


def test_confidence_is_higher_for_clear_queries() -> None:
    router = builtin_router()
    clear = router.route("what is the current price of bitcoin and ethereum")
    vague = router.route("tell me something")
    assert clear.intent == "market_analysis"
    assert clear.confidence > vague.confidence
