"""What the voice tests share: the PulseAudio virtual devices, the spoken test sentence, loudness."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SENTENCE = "안녕하세요. 오늘 날씨가 정말 좋네요."
# Fragments Vosk-ko hears in espeak-ng's rendering of SENTENCE whatever the sample rate, channel
# count or block alignment (the rest of the transcript shifts between runs of the live chain).
STABLE_FRAGMENTS = ("오후", "네요")
# What Vosk-ko hears of SENTENCE's second sentence (and of SECOND_SENTENCE, the same words) on the
# live chain, where the early final in the pause before it restarts the recogniser: each of these
# comes and goes ("어류 와 옷이 다 저 이 맞 죠 네요", "오후 [9] 시 가 저 이 나오 네여"), one is there.
SECOND_HALF = ("죠 네", "나오", "오후")


def hears_second_half(text: str) -> bool:
    """Whether ``text`` holds what the live chain hears of the second sentence."""
    return any(fragment in text for fragment in SECOND_HALF)


RATE = 16000
# Two questions said one after the other, with a pause longer than the early endpoint (0.2 s)
# and shorter than the early endpoint plus the resume window (0.9 s).
FIRST_SENTENCE = "내일 비가 올까요?"
SECOND_SENTENCE = "오늘 날씨가 정말 좋네요."
PAUSE_SECONDS = 0.45


@contextlib.contextmanager
def pulse_env() -> Iterator[dict[str, str]]:
    """PulseAudio with vsink/vmic (scripts/audio_up.sh), its env set for this process meanwhile.

    PortAudio enumerates devices when it initialises: if sounddevice was imported before the env
    pointed at the daemon, it is re-initialised.
    """
    out = subprocess.run(
        [str(REPO / "scripts" / "audio_up.sh")], check=True, capture_output=True, text=True, timeout=300
    ).stdout
    env = dict(
        line.removeprefix("export ").split("=", 1) for line in out.splitlines() if line.startswith("export ")
    )
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    if "sounddevice" in sys.modules:
        sd: Any = sys.modules["sounddevice"]
        sd._terminate()
        sd._initialize()
    try:
        yield env
    finally:
        for key, previous in old.items():
            if previous is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = previous


def speak_sentence(folder: Path) -> Path:
    """SENTENCE spoken by espeak-ng (``espeak.wav``, 22.05 kHz) and as 16 kHz mono 16-bit ``mono16k.wav``."""
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(folder / "espeak.wav"), SENTENCE], check=True)
    out = folder / "mono16k.wav"
    subprocess.run(
        ["sox", str(folder / "espeak.wav"), "-r", str(RATE), "-c", "1", "-b", "16", str(out)], check=True
    )
    return out


def speak_two_sentences(folder: Path, pause: float = PAUSE_SECONDS) -> Path:
    """FIRST_SENTENCE, ``pause`` seconds of silence, SECOND_SENTENCE: ``two.wav``, 16 kHz mono s16.

    The pause is measured from the first sentence's last sound (its trailing quiet is cut).
    """
    parts = []
    for n, sentence in enumerate((FIRST_SENTENCE, SECOND_SENTENCE)):
        raw, wav = folder / f"part{n}-espeak.wav", folder / f"part{n}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), sentence], check=True)
        subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(wav)], check=True)
        with wave.open(str(wav)) as w:
            parts.append(w.readframes(w.getnframes()))
    out = folder / "two.wav"
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(_trim_end(parts[0]) + bytes(2 * int(pause * RATE)) + parts[1])
    return out


def _trim_end(pcm: bytes, threshold: int = 300) -> bytes:
    """``pcm`` without its trailing quiet (espeak-ng ends a question with 0.3 s of it)."""
    data = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(data.astype(np.int32)) > threshold)
    return pcm[: (int(loud[-1]) + 1) * 2] if loud.size else pcm


def voiced(pcm: bytes, threshold: float = 0.01) -> tuple[float, float, Any]:
    """Of 16 kHz mono s16 ``pcm``: (seconds from the first to the last 20 ms block above
    ``threshold`` RMS, peak RMS, RMS of every block)."""
    data = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
    block = RATE // 50
    n = len(data) // block
    rms = np.sqrt((data[: n * block].reshape(n, block) ** 2).mean(axis=1))
    loud = np.flatnonzero(rms > threshold)
    if loud.size == 0:
        return 0.0, float(rms.max(initial=0.0)), rms
    return (loud[-1] - loud[0] + 1) / 50.0, float(rms.max()), rms
