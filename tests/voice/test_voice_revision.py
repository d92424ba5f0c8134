"""Early endpoint and continued listening, no mocks: two sentences with a pause into the virtual mic.

The pause (0.45 s) is longer than the early endpoint (0.2 s) and shorter than the early endpoint
plus the resume window (0.9 s): the first sentence becomes an early final and is asked at once,
the second continues the same utterance, and its revision replaces the speculative question.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from audio_support import hears_second_half, speak_two_sentences

from fame_desktop.app import build_app
from fame_desktop.cli import voice_cmd
from fame_desktop.orchestrator.events import EventBus, VoiceStateChanged, VoiceTranscript
from fame_desktop.orchestrator.settings import SettingsStore
from fame_desktop.orchestrator.voice.adapter import SUPERSEDED, VoiceAdapter

pytestmark = [pytest.mark.audio, pytest.mark.slow]

RESUME_WINDOW = 0.7


@pytest.fixture(scope="module")
def two_sentences(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two sentences with a 0.45 s pause, 16 kHz mono."""
    return speak_two_sentences(tmp_path_factory.mktemp("two"))


async def _play(wav: Path) -> None:
    play = await asyncio.create_subprocess_exec("paplay", "--device=vsink", str(wav))
    assert await play.wait() == 0


async def test_a_pause_between_two_sentences_gives_one_question_and_cancels_the_early_one(
    pulse: dict[str, str], two_sentences: Path, speech_dir: Path, tmp_path: Path
) -> None:
    bus = EventBus()
    bus.bind_loop(asyncio.get_running_loop())
    settings = SettingsStore(tmp_path / "settings.json")
    settings.update({"voice.language": "ko"}, admin=False)  # the user speaks Korean, as espeak-ng does
    asked: list[str] = []
    cancelled: list[tuple[str, tuple[Any, ...]]] = []

    async def ask(request: dict[str, Any]) -> dict[str, Any]:
        asked.append(request["text"])
        try:
            await asyncio.sleep(3.0)  # a Brain that takes its time: the revision comes first
        except asyncio.CancelledError as exc:
            cancelled.append((request["text"], exc.args))
            raise
        return {"text": request["text"], "response": f"answer to {request['text']}", "error": None}

    adapter = VoiceAdapter(settings, bus, ask, models_dir=tmp_path / "models", resume_window=RESUME_WINDOW)
    await adapter.start()
    finals: list[tuple[float, str, bool]] = []  # (when, text, still listening)
    ended: list[float] = []
    live = asyncio.Event()

    def on_transcript(event: VoiceTranscript) -> None:
        if event.final and event.text:
            finals.append((time.monotonic(), event.text, adapter.listening))

    def on_state(event: VoiceStateChanged) -> None:
        if event.state == "listening":
            live.set()
        elif event.state == "thinking" and not ended:
            ended.append(time.monotonic())  # listening is over, the answer is awaited

    try:
        # A first question, as a user would ask one: Vosk expands its decoding graph lazily, and
        # this test times the warm recogniser the adapter keeps from listen to listen.
        bus.subscribe(VoiceStateChanged, on_state)
        first = asyncio.create_task(adapter.listen_once())
        await asyncio.wait_for(live.wait(), 60)
        await _play(speech_dir / "mono16k.wav")
        assert await asyncio.wait_for(first, 30)
        live.clear()

        bus.subscribe(VoiceTranscript, on_transcript)
        query = asyncio.create_task(adapter.voice_query())
        await asyncio.wait_for(live.wait(), 60)
        await _play(two_sentences)
        played = time.monotonic()
        response = await asyncio.wait_for(query, 60)
    finally:
        await adapter.aclose()

    texts = [text for _, text, _ in finals]
    # The first sentence was a final of its own while the second was still being played...
    assert len(finals) >= 2, texts
    assert finals[0][0] < played - 1.0, (finals[0][0] - played, texts)
    assert not hears_second_half(texts[0]), texts
    # ...and the last final holds both sentences: it revises the first, it does not replace it.
    whole = texts[-1]
    assert whole.startswith(texts[0]) and len(whole) > len(texts[0]), texts
    assert hears_second_half(whole), whole
    # Every final came while the microphone was still listening (before the resume window ran
    # out), and listening went on for the resume window after the last one.
    assert all(listening for _, _, listening in finals), finals
    assert ended and ended[0] - finals[-1][0] >= RESUME_WINDOW - 0.1, (ended, finals[-1][0])

    # The Brain was asked at each final; every question but the last was cancelled as superseded,
    # and the one answer is the answer to the whole question.
    assert asked == texts
    assert cancelled == [(text, (SUPERSEDED,)) for text in texts[:-1]]
    assert response is not None and response["response"] == f"answer to {whole}"


async def test_cli_voice_ask_answers_the_whole_question_once(
    pulse: dict[str, str], two_sentences: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `fame voice ask --json` in process, over the real Brain (its chat plugin answers at once, so
    # the early question may be answered before the revision: that answer is dropped, not printed).
    app = build_app(tmp_path / "data")
    app.settings.update({"voice.language": "ko"}, admin=False)
    app.bus.bind_loop(asyncio.get_running_loop())
    parser = argparse.ArgumentParser()
    voice_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["voice", "ask", "--json"])
    live = asyncio.Event()
    app.bus.subscribe(VoiceStateChanged, lambda e: live.set() if e.state == "listening" else None)
    try:
        command = asyncio.create_task(args.func(args, app))
        await asyncio.wait_for(live.wait(), 60)
        await _play(two_sentences)
        code = await asyncio.wait_for(command, 60)
        finals = [e.text for e in app.bus.history(VoiceTranscript) if e.final and e.text]
        asked = [e.data["text"] for e in app.audit.query(kinds=["query"], newest_first=False)]
        completed = app.audit.count(kinds=["query_completed"])
    finally:
        await app.aclose()
    assert code == 0
    response = json.loads(capsys.readouterr().out)
    assert len(finals) >= 2 and finals[-1].startswith(finals[0]), finals
    assert response["text"] == finals[-1] and hears_second_half(response["text"]), response["text"]
    # Each final was asked once, in order (the early one seconds before the revision); only the
    # answer to the whole question was printed.
    assert asked == finals
    assert completed == len(finals)
