"""The manifest's light check agrees with its pydantic model, whose JSON schema is unchanged.

A manifest the light check takes must be the one pydantic would build, and anything else must get
pydantic's answer (its error, worded by ``parse_manifest`` as before).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fame_plugin_api import ManifestError, PluginManifest, parse_manifest
from fame_plugin_api.manifest import _first_problem, manifest_model

SCHEMA = Path(__file__).with_name("data") / "manifest_schema.json"

GOOD: dict[str, Any] = {
    "name": "clock",
    "version": "1.0",
    "description": " Tells the time. ",
    "intents": {"system_info": ["what time is it"]},
}
PHRASES: list[Any] = [
    {}, {"chat": []}, {"chat": ["hi"]}, {"chat": ("hi", "hello")}, {"bogus": ["x"]}, {"chat": ["\ud800"]},
    {"\ud800": ["x"]}, {"chat": [1]}, {"chat": "hi"}, {"chat": {"hi"}}, {1: ["x"]}, {"calculate": [r"\d+("]},
    {"calculate": [r"\d+"]}, ["chat"], None, "chat",
]  # fmt: skip
VALUES: dict[str, list[Any]] = {
    "schema_version": [1, 2, 1.0, True, "1", None],
    "name": ["clock", "Bad Name!", "x", "a" * 64, "a" * 65, "clock\n", "cl\u00f6ck", None, 1, "\ud800"],
    "version": ["1.0", "1.2.3", "1.2.3-beta1", "x", "1.0\n", "", 1.0, None],
    "description": ["d", " Tells. ", "  ", "", "\u00e9t\u00e9", "\ud800", None, 1],
    "intents": PHRASES,
    "keywords": PHRASES,
    "patterns": PHRASES,
    "needs_network": [True, False, 0, 1, "true", None],
    "admin_only": [True, False, 0, None],
    "dangerous": [True, False, 1, "no"],
    "capability": [None, "run_code", "", 1, "\ud800"],
    "timeout_seconds": [None, 5, 5.5, 0, -1, 0.0, float("nan"), float("inf"), 2**70, True, "5", 1e-9],
    "priority": [0, 10, -3, 2**70, 1.0, True, "1", None],
}


def _outcome(validate: Any, data: object) -> tuple[Any, ...]:
    try:
        built = validate(data)
    except ValidationError as exc:
        return ("error", repr(exc.errors()), str(exc), _first_problem(exc))
    return ("ok", repr(built.model_dump()))


def _cases() -> list[dict[Any, Any]]:
    cases: list[dict[Any, Any]] = [GOOD]
    cases += [{**GOOD, name: value} for name, values in VALUES.items() for value in values]
    cases += [{k: v for k, v in GOOD.items() if k != name} for name in GOOD]
    rng = random.Random(15)
    for _ in range(2000):
        data: dict[Any, Any] = dict(GOOD)
        for name in rng.sample(list(VALUES), rng.randint(1, 4)):
            data[name] = rng.choice(VALUES[name])
        if rng.random() < 0.05:
            data[rng.choice(["surprise", "Name"])] = 1
        cases.append(data)
    return cases


def test_every_manifest_gets_pydantics_answer() -> None:
    model = manifest_model()
    for data in _cases():
        assert _outcome(PluginManifest.model_validate, data) == _outcome(model.model_validate, data), data
        try:
            expected = f"ok {model.model_validate(data).model_dump()!r}"
        except ValidationError as exc:
            expected = f"x.py: {_first_problem(exc)}"
        try:
            got = f"ok {parse_manifest(data, 'x.py').model_dump()!r}"
        except ManifestError as exc:
            got = str(exc)
        assert got == expected, data


def test_the_json_schema_is_unchanged() -> None:
    # The schema main published (at aa0dfa0) before the manifest's light check was added.
    assert PluginManifest.model_json_schema() == json.loads(SCHEMA.read_text())


def test_the_light_manifest_behaves_as_the_model_did() -> None:
    manifest = parse_manifest(GOOD, "clock.py")
    assert repr(manifest) == repr(manifest_model().model_validate(GOOD))
    assert manifest == PluginManifest(**GOOD) == parse_manifest(dict(GOOD), "other.py")
    with pytest.raises(ValidationError, match="Instance is frozen"):
        manifest.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        PluginManifest(**{**GOOD, "name": "Bad Name!"})
