"""The settings' light check agrees with the pydantic model derived from the same declaration.

A value the light check accepts must be stored exactly as pydantic would store it, and anything
else must be pydantic's answer (its coercion, or its error with its message); a settings file of
plainly valid values loads without importing pydantic.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fame_desktop.orchestrator.settings import Settings, SettingsStore, iter_fields
from fame_desktop.orchestrator.settings_schema import InvalidSettings, leaves, pydantic_model

VALUES: list[Any] = [
    True, False, 0, 1, -1, 2, 8, 7, 64, 65, 1023, 1024, 4096, 4097, 65535, 65536, 131073, 2**63, 2**70,
    0.0, -0.0, 0.5, 1.5, 2.0, 30, 3600, 3600.0, 3600.1, float("nan"), float("inf"), "", "a", "1", "1.5",
    "true", "yes", "512m", "512m\n", "\u0665\u0661\u0662m", "5g", "x" * 17, "en_us", "EN-us", "english",
    "ko", " hey  fame ", "h", "A" * 64, "a" * 64, "g" * 64, "docker", "swarm", "auto", "openai", "dark",
    [], ["a"], ["a", 1], ("a",), {}, {"ko": "헤이 페임"}, {"ko": 1}, None,
]  # fmt: skip


def _outcome(validate: Any, data: object) -> tuple[Any, ...]:
    try:
        return ("ok", json.dumps(validate(data).model_dump(mode="json"), sort_keys=True))
    except (ValidationError, InvalidSettings) as exc:
        errors = [(e["loc"], e["msg"], e["type"]) for e in exc.errors()]
        return ("error", errors, str(exc).splitlines()[0])


def _cases() -> list[object]:
    paths = [path.split(".") for path, _spec in leaves(Settings)]
    cases: list[object] = [{section: {name: value}} for section, name in paths for value in VALUES]
    rng = random.Random(15)
    for _ in range(500):
        data: dict[str, Any] = {}
        for _ in range(rng.randint(1, 5)):
            section, name = rng.choice(paths)
            data.setdefault(section, {})[name] = rng.choice(VALUES)
        if rng.random() < 0.1:
            data[rng.choice(["bogus", "voice"])] = rng.choice([1, None, {"bogus": 1}])
        cases.append(data)
    return [*cases, [], "x", None, {"network": None}]


def test_every_value_gets_pydantics_answer() -> None:
    model = pydantic_model(Settings)
    for data in _cases():
        assert _outcome(Settings.model_validate, data) == _outcome(model.model_validate, data), data


def test_the_dialog_reads_the_same_fields_and_schema_as_declared() -> None:
    fields = dict(iter_fields())
    assert list(fields) == [path for path, _spec in leaves(Settings)]
    assert fields["sandbox.pids_limit"].json_schema_extra == {"admin": True}
    assert [repr(m) for m in fields["sandbox.pids_limit"].metadata] == ["Ge(ge=8)", "Le(le=4096)"]
    assert fields["voice.language"].json_schema_extra is None
    schema = pydantic_model(Settings).model_json_schema()
    assert schema["title"] == "Settings"
    assert schema["$defs"]["SandboxSettings"]["properties"]["timeout_seconds"] == {
        "admin": True,
        "default": 30.0,
        "description": "Wall-clock limit of one run.",
        "exclusiveMinimum": 0,
        "maximum": 3600,
        "title": "Timeout Seconds",
        "type": "number",
    }


def test_assignment_is_validated_with_pydantics_message() -> None:
    voice = Settings().voice
    voice.speak_answers = True
    voice.language = "en_us"
    assert (voice.speak_answers, voice.language) == (True, "en-US")
    with pytest.raises(InvalidSettings, match="greater than or equal to 50"):
        voice.tts_rate = 10
    assert voice.tts_rate == 175


def test_a_plainly_valid_file_loads_without_pydantic(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps({"voice": {"language": "de", "tts_rate": 200}, "plugins": {"disabled": ["x"]}})
    )
    code = (
        "import sys; from pathlib import Path\n"
        "from fame_desktop.orchestrator.settings import SettingsStore\n"
        f"store = SettingsStore(Path({str(path)!r}))\n"
        "print(store.settings.voice.tts_rate, store.load_problem, 'pydantic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["200", "None", "False"]
    # The same file in this process gives the same settings.
    assert SettingsStore(path).settings.voice.tts_rate == 200
