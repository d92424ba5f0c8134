"""Audio helpers without a sound card: WAV reading, resampling, levels, device listing.

Only numpy: the resampler is a band-limited (Kaiser-windowed sinc) interpolator, so downsampling
22.05 kHz or 44.1 kHz speech to Vosk's 16 kHz does not fold high frequencies back into the band.
"""

from __future__ import annotations

import logging
import wave
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fame_desktop.orchestrator.errors import InvalidRequest
from fame_desktop.orchestrator.voice.errors import NoAudioDevice

log = logging.getLogger("fame.voice.audio")

RATE = 16000  # what Vosk models expect
FloatArray = npt.NDArray[np.float64]

_NO_DEVICE_FIX = (
    "Connect a microphone/speaker, or start a sound server (on a headless machine: "
    '`eval "$(scripts/audio_up.sh)"` starts PulseAudio with a virtual microphone). '
    "Typing still works."
)


def read_wav(path: Path) -> tuple[FloatArray, int]:
    """Read a PCM WAV file as mono float samples in -1..1 and its sample rate.

    Raises:
        InvalidRequest: the file is missing or not a PCM WAV file.
    """
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except FileNotFoundError as exc:
        raise InvalidRequest(f"No such audio file: {path}.", "Check the path.") from exc
    except (wave.Error, EOFError) as exc:
        raise InvalidRequest(
            f"{path} is not a PCM WAV file ({exc}).",
            "Convert it first, e.g. `sox in.mp3 -b 16 out.wav`.",
        ) from exc
    if width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8  # sign-extend 24 bits
        samples = ints.astype(np.float64) / 8388608.0
    else:
        samples = np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2147483648.0
    if channels > 1:
        samples = samples[: len(samples) // channels * channels].reshape(-1, channels).mean(axis=1)
    return samples, rate


def resample(samples: FloatArray, rate_in: int, rate_out: int, zero_crossings: int = 16) -> FloatArray:
    """Band-limited resampling of mono ``samples`` from ``rate_in`` to ``rate_out``.

    Each output sample is a Kaiser-windowed sinc interpolation of the input around its position;
    when downsampling, the sinc's cutoff is lowered to the new Nyquist frequency (anti-aliasing).
    """
    if rate_in == rate_out or len(samples) == 0:
        return samples.copy()
    ratio = rate_out / rate_in
    cutoff = min(1.0, ratio)  # fraction of the input Nyquist frequency kept
    half = int(np.ceil(zero_crossings / cutoff))
    taps = np.arange(-half + 1, half + 1)
    n_out = int(np.floor(len(samples) * ratio))
    padded = np.concatenate([np.zeros(half), samples, np.zeros(half + 1)])
    out = np.empty(n_out)
    step = 8192  # output samples per block, bounds memory to step x taps
    for start in range(0, n_out, step):
        pos = np.arange(start, min(start + step, n_out)) / ratio
        idx = np.floor(pos).astype(np.int64)[:, None] + taps[None, :]
        dist = idx - pos[:, None]  # input index minus exact position, in input samples
        # Kaiser window evaluated at the exact offsets (beta 8.6: about 80 dB stop band).
        win = np.i0(8.6 * np.sqrt(np.clip(1.0 - (dist / half) ** 2, 0.0, 1.0))) / np.i0(8.6)
        kernel = cutoff * np.sinc(cutoff * dist) * win
        out[start : start + len(pos)] = (padded[idx + half] * kernel).sum(axis=1)
    return out


def to_pcm16(samples: FloatArray) -> bytes:
    """Float samples to little-endian 16-bit PCM bytes (clipped)."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def rms_level(block: bytes) -> float:
    """Root-mean-square level of 16-bit PCM ``block``, 0..1."""
    data = np.frombuffer(block, dtype="<i2")
    if data.size == 0:
        return 0.0
    return float(min(1.0, np.sqrt(np.mean((data.astype(np.float64) / 32768.0) ** 2))))


def list_devices() -> list[dict[str, Any]]:
    """Audio devices PortAudio sees: index, name, input/output channels, default flags.

    Raises:
        NoAudioDevice: PortAudio is missing or lists no device at all.
    """
    sd = import_sounddevice()
    try:
        devices = sd.query_devices()
        default_in, default_out = sd.default.device
    except Exception as exc:  # PortAudioError, or OSError from a broken backend
        raise NoAudioDevice(f"No audio devices are available ({exc}).", _NO_DEVICE_FIX) from exc
    result = [
        {
            "index": i,
            "name": str(d["name"]),
            "inputs": int(d["max_input_channels"]),
            "outputs": int(d["max_output_channels"]),
            "default_input": i == default_in,
            "default_output": i == default_out,
        }
        for i, d in enumerate(devices)
    ]
    if not result:
        raise NoAudioDevice("PortAudio lists no audio devices.", _NO_DEVICE_FIX)
    return result


def check_device(device: str | int | None, kind: str) -> dict[str, Any]:
    """Describe the input (``kind='input'``) or output device that would be used.

    Raises:
        NoAudioDevice: no such device, or PortAudio has no default device of that kind
            (``Error querying device -1``).
    """
    sd = import_sounddevice()
    chosen = device_arg(device)
    try:
        info = sd.query_devices(chosen, kind=kind) if chosen is not None else sd.query_devices(kind=kind)
    except Exception as exc:
        what = "microphone" if kind == "input" else "speaker"
        label = f"'{device}'" if chosen is not None else "(default)"
        raise NoAudioDevice(f"No {what} {label} is available ({exc}).", _NO_DEVICE_FIX) from exc
    channels = int(info["max_input_channels" if kind == "input" else "max_output_channels"])
    if channels < 1:
        raise NoAudioDevice(f"Audio device '{info['name']}' has no {kind} channels.", _NO_DEVICE_FIX)
    return dict(info)


def device_arg(device: str | int | None) -> str | int | None:
    """Setting value to sounddevice's argument: digits become an index, 'default' stays a name."""
    if device is None or device == "":
        return None
    if isinstance(device, str) and device.isdigit():
        return int(device)
    return device


def import_sounddevice() -> Any:
    """Import sounddevice, turning a missing PortAudio library into a clear error."""
    try:
        import sounddevice  # PortAudio loads with the first recording, not at start-up
    except OSError as exc:  # "PortAudio library not found"
        raise NoAudioDevice(
            f"The PortAudio library is missing ({exc}).",
            "Install it (Debian/Ubuntu: `apt-get install libportaudio2`).",
        ) from exc
    return sounddevice
