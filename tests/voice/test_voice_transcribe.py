"""Transcribing WAV files at any rate, and the ``fame voice transcribe`` / ``say --out`` handlers."""

from __future__ import annotations

import argparse
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fame_desktop.cli import voice_cmd
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.paths import DataPaths
from fame_desktop.orchestrator.settings import SettingsStore
from fame_desktop.orchestrator.voice.audio import resample
from fame_desktop.orchestrator.voice.recognizer import transcribe_file


class _NoBrain:
    async def handle_query(self, request: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("not used by these commands")

    async def start(self) -> None:
        return None


class _CliApp:
    """The parts of the real App the voice commands use, over a fresh data dir."""

    def __init__(self, root: Path) -> None:
        self.paths = DataPaths(root)
        self.settings = SettingsStore(self.paths.settings)
        self.settings.update({"voice.language": "ko"}, admin=False)  # the installed model's language
        self.bus = EventBus()
        self.brain = _NoBrain()


@pytest.mark.slow
def test_any_rate_and_channel_count_gives_the_same_words(
    ko_model: Any, speech_dir: Path, stable_fragments: tuple[str, ...]
) -> None:
    mono = transcribe_file(speech_dir / "mono16k.wav", ko_model)
    stereo = transcribe_file(speech_dir / "stereo22k.wav", ko_model)
    for fragment in stable_fragments:
        assert fragment in mono, mono
        assert fragment in stereo, stereo


def test_resampling_keeps_speech_band_and_removes_what_cannot_be_represented() -> None:
    t = np.arange(22050) / 22050
    kept = resample(np.sin(2 * np.pi * 1000 * t), 22050, 16000)
    folded = resample(np.sin(2 * np.pi * 10000 * t), 22050, 16000)  # above 16 kHz's 8 kHz Nyquist
    assert len(kept) == 16000
    assert np.sqrt(np.mean(kept[200:-200] ** 2)) == pytest.approx(0.7071, abs=0.01)
    assert np.sqrt(np.mean(folded[200:-200] ** 2)) < 0.001


@pytest.mark.slow
async def test_cli_transcribe_prints_the_transcript(
    tmp_path: Path,
    ko_model_dir: Path,
    speech_dir: Path,
    stable_fragments: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser()
    voice_cmd.register(parser.add_subparsers())
    args = parser.parse_args(
        ["voice", "transcribe", str(speech_dir / "stereo22k.wav"), "--model", str(ko_model_dir)]
    )
    assert await args.func(args, _CliApp(tmp_path)) == 0
    out = capsys.readouterr().out
    for fragment in stable_fragments:
        assert fragment in out


async def test_cli_say_out_writes_a_speech_wav_and_prints_nothing_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    voice_cmd.register(parser.add_subparsers())
    out = tmp_path / "hello.wav"
    args = parser.parse_args(["voice", "say", "Hello,", "this is FAME.", "--out", str(out)])
    assert await args.func(args, _CliApp(tmp_path)) == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # pyttsx3's "Audio saved to" line is suppressed
    assert "wrote" in captured.err
    with wave.open(str(out)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert 0.8 < seconds < 5.0
    assert np.abs(data).max() > 3000
