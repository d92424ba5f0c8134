"""Issue 5 end to end, no mocks: speech into the virtual mic -> Vosk -> ask -> pyttsx3 -> the sink."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

import pytest
from audio_support import hears_second_half, voiced

from fame_desktop.orchestrator.events import EventBus, VoiceLevel, VoiceStateChanged, VoiceTranscript
from fame_desktop.orchestrator.settings import SettingsStore
from fame_desktop.orchestrator.voice.adapter import VoiceAdapter
from fame_desktop.orchestrator.voice.tts import Speaker

pytestmark = [pytest.mark.audio, pytest.mark.slow]

ANSWER = "The weather is lovely today. Enjoy the sunshine."
RECORD_RATE = 16000


async def _record_sink(stop: asyncio.Event) -> bytes:
    """Record vsink.monitor (what is played to the speaker) as 16 kHz mono s16 until ``stop``."""
    proc = await asyncio.create_subprocess_exec(
        "parecord",
        "--device=vsink.monitor",
        "--raw",
        "--format=s16le",
        f"--rate={RECORD_RATE}",
        "--channels=1",
        "--latency-msec=20",
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    chunks: list[bytes] = []

    async def pump() -> None:
        assert proc.stdout is not None
        while data := await proc.stdout.read(4096):
            chunks.append(data)

    reader = asyncio.create_task(pump())
    await stop.wait()
    proc.terminate()
    await proc.wait()
    await reader
    return b"".join(chunks)


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return float(wav.getnframes() / wav.getframerate())


async def test_spoken_question_is_recognised_answered_and_the_answer_is_spoken(
    pulse: dict[str, str], speech_dir: Path, tmp_path: Path
) -> None:
    bus = EventBus()
    bus.bind_loop(asyncio.get_running_loop())
    settings = SettingsStore(tmp_path / "settings.json")
    settings.update({"voice.speak_answers": True, "voice.language": "ko"}, admin=False)
    asked: list[dict[str, Any]] = []
    stop_recording = asyncio.Event()
    recording: asyncio.Task[bytes] | None = None

    async def ask(request: dict[str, Any]) -> dict[str, Any]:
        asked.append(request)
        await asyncio.sleep(0.5)
        return {"text": request["text"], "response": ANSWER, "error": None, "intent": "chat"}

    def on_state(event: VoiceStateChanged) -> None:
        nonlocal recording
        if event.state == "listening":
            live.set()
        elif event.state == "thinking" and recording is None:
            # Listening is over: record the speaker from now, so the question is not in it.
            recording = asyncio.create_task(_record_sink(stop_recording))

    adapter = VoiceAdapter(settings, bus, ask, models_dir=tmp_path / "models")
    await adapter.start()
    live = asyncio.Event()
    bus.subscribe(VoiceStateChanged, on_state)
    try:
        query = asyncio.create_task(adapter.voice_query())
        await asyncio.wait_for(live.wait(), 60)  # the microphone's first audio comes 1-2 s late
        play = await asyncio.create_subprocess_exec(
            "paplay", "--device=vsink", str(speech_dir / "mono16k.wav")
        )
        assert await play.wait() == 0
        response = await asyncio.wait_for(query, 60)
        await asyncio.wait_for(adapter.wait_speaking(), 30)
        await asyncio.sleep(0.3)
    finally:
        stop_recording.set()
        await adapter.aclose()
    assert recording is not None
    pcm = await recording

    # The question was heard and sent to the Brain as a voice query: at each final transcript
    # (the sentence's inner pause may make an early final of its first half, then a revision).
    assert asked and all(a["source"] == "voice" for a in asked)
    assert hears_second_half(asked[-1]["text"]), asked[-1]["text"]
    assert response is not None and response["response"] == ANSWER
    # The window had something to show while listening.
    assert any(not e.final and e.text for e in bus.history(VoiceTranscript))
    finals = [e.text for e in bus.history(VoiceTranscript) if e.final]
    assert finals == [a["text"] for a in asked]
    assert max(e.level for e in bus.history(VoiceLevel)) > 0.02
    states = [e.state for e in bus.history(VoiceStateChanged)]
    for state in ("loading", "starting", "listening", "thinking", "speaking", "idle"):
        assert state in states

    # The answer's text (not the response object) was spoken into the sink.
    speaker = Speaker()
    expected = _wav_seconds(speaker.save(ANSWER, tmp_path / "expected.wav").result(30))
    speaker.close()
    voiced_s, peak, _ = voiced(pcm)
    assert peak > 0.05
    assert 0.7 * expected <= voiced_s <= 1.3 * expected + 0.2, (voiced_s, expected)
