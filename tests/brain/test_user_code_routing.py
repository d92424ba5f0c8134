"""Code in a query ("run this: ...", a fenced Python block) goes to ``run_code`` before scoring."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from routing_set import builtin_manifests, labelled_queries

from fame_desktop.orchestrator.intent_training import training_set
from fame_desktop.orchestrator.routing import Router
from fame_plugin_api import user_code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("run this python code: for i in range(5): print(i*i)", "for i in range(5): print(i*i)\n"),
        ("run this: print(1)", "print(1)\n"),
        ("Execute the following:\n`print(3)`", "print(3)\n"),
        ("Run this script:\nimport sys\nprint(sys.version)", "import sys\nprint(sys.version)\n"),
        ("what does this print?\n```python\nprint(2)\n```\nthanks", "print(2)\n"),
        ("```\nx = 1\nprint(x)\n```", "x = 1\nprint(x)\n"),
        ("```py\nprint('unclosed')", "print('unclosed')\n"),
    ],
)
def test_code_is_found(text: str, code: str) -> None:
    assert user_code(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "write a python function to reverse a string",
        "run the tests",
        "run this: a marathon in four hours",
        "```bash\nls -l\n```",
        "how do I run python code in the sandbox?",
        "what is 2 + 2",
    ],
)
def test_no_code_no_run(text: str) -> None:
    assert user_code(text) is None


def test_code_routes_to_run_code_without_the_classifier() -> None:
    router = Router(builtin_manifests())
    for text in ("run this python code: for i in range(5): print(i*i)", "```python\nprint('and then')\n```"):
        route = router.route(text)
        assert (route.intent, route.rule, route.ambiguous) == ("run_code", "user_code", False), text
    # An explicit intent still wins over the rule.
    assert router.route("run this: print(1)", "chat").intent == "chat"


def test_run_code_teaches_the_classifier_nothing() -> None:
    """The plugin declares no phrases, so the training set (and the shipped model) is unchanged."""
    assert not any(ex.intent == "run_code" for ex in training_set(builtin_manifests()))
    router = Router(builtin_manifests())
    assert "run_code" not in router.intents  # never scored: only the rule reaches it
    assert not any(router.route(q).intent == "run_code" for _, q in labelled_queries())
