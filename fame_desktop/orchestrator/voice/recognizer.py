"""Speech to text with Vosk, from a microphone (sounddevice) or from a WAV file.

:meth:`Recognizer.listen` is blocking and runs in a worker thread: it opens a 16 kHz mono int16
input stream, feeds 50 ms blocks to a ``KaldiRecognizer``, publishes the input level, partial and
final transcripts on the event bus, and stops at the end of speech, on cancel, or at a time limit.

End of speech is decided by an energy detector: speech has started once a block is clearly above
the noise floor, and it has ended after ``end_silence`` seconds below it. Half a second keeps the
pause between two sentences inside one utterance; shorter values answer faster but cut there.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fame_desktop.orchestrator.events import EventBus, VoiceLevel, VoiceStateChanged, VoiceTranscript
from fame_desktop.orchestrator.voice.audio import (
    RATE,
    check_device,
    device_arg,
    import_sounddevice,
    read_wav,
    resample,
    rms_level,
    to_pcm16,
)
from fame_desktop.orchestrator.voice.errors import NoAudioDevice

log = logging.getLogger("fame.voice.recognizer")

BLOCK = 800  # 50 ms at 16 kHz: small blocks keep the end-of-speech decision quick


def text_of(result_json: str, key: str = "text") -> str:
    """The ``text`` (or ``partial``) field of a Vosk JSON result."""
    try:
        value = json.loads(result_json).get(key, "")
    except ValueError:
        return ""
    return str(value).strip()


@dataclass
class EndOfSpeech:
    """Energy-based end-of-speech detector.

    Args:
        end_silence: Seconds of quiet after speech that end the utterance.
        no_speech_timeout: Seconds without any speech after which listening gives up.
        min_level: RMS below this is always silence (0..1).
        ratio: A block is speech when its RMS exceeds ``ratio`` times the noise floor.
    """

    end_silence: float = 0.5
    no_speech_timeout: float = 8.0
    min_level: float = 0.01
    ratio: float = 3.0

    def __post_init__(self) -> None:
        self.noise = self.min_level / self.ratio
        self.heard = False
        self.quiet = 0.0
        self.elapsed = 0.0
        self.last_speech_at = 0.0  # stream seconds at the end of the last speech block

    def feed(self, level: float, seconds: float) -> bool:
        """Account for one block; True when the utterance is over (or nothing came in time)."""
        self.elapsed += seconds
        speech = level > max(self.min_level, self.noise * self.ratio)
        if speech:
            self.heard = True
            self.quiet = 0.0
            self.last_speech_at = self.elapsed
        else:
            # Follow the noise floor: quickly down, slowly up (so speech does not raise it).
            weight = 0.3 if level < self.noise else 0.02
            self.noise += weight * (level - self.noise)
            self.quiet += seconds
        if self.heard:
            return self.quiet >= self.end_silence
        return self.elapsed >= self.no_speech_timeout


class Recognizer:
    """One Vosk model, listening through one input device.

    Args:
        model: A loaded ``vosk.Model``.
        bus: Where state, level and transcripts are published.
        device: sounddevice input (name, index as text, ``default`` or empty for the default).
    """

    def __init__(self, model: Any, bus: EventBus, device: str = "default") -> None:
        self.model = model
        self.bus = bus
        self.device = device

    def _new_kaldi(self, grammar: list[str] | None = None) -> Any:
        import vosk

        if grammar and self._grammar_usable(grammar):
            try:
                # ensure_ascii=False: Vosk looks words up as UTF-8, not as \uXXXX escapes.
                words = json.dumps([*grammar, "[unk]"], ensure_ascii=False)
                return vosk.KaldiRecognizer(self.model, RATE, words)
            except Exception:  # models with a static graph accept no grammar: use the full one
                log.info("model takes no grammar; wake phrase uses the full vocabulary")
        return vosk.KaldiRecognizer(self.model, RATE)

    def _grammar_usable(self, grammar: list[str]) -> bool:
        """Whether every word of ``grammar`` and ``[unk]`` is in the model's vocabulary.

        Without ``[unk]`` a grammar forces all speech onto the phrase (false wakes); a word missing
        from the vocabulary is never heard at all. Either way the full vocabulary is the safe choice.
        """
        find = getattr(self.model, "vosk_model_find_word", None)
        if find is None:
            return True
        words = [w for phrase in grammar for w in phrase.split()] + ["[unk]"]
        missing = [w for w in words if find(w) < 0]
        if missing:
            log.info("wake phrase words not in the model's vocabulary (%s): full vocabulary", missing)
        return not missing

    def listen(
        self,
        cancel: threading.Event,
        *,
        detector: EndOfSpeech | None = None,
        max_seconds: float = 30.0,
        on_live: Callable[[], None] | None = None,
    ) -> str:
        """Record until the end of speech, cancel or ``max_seconds``; return the final transcript.

        Publishes ``VoiceStateChanged('listening')`` when audio really flows (the first block can
        come 1-2 s after the stream starts), ``VoiceLevel`` per block, ``VoiceTranscript`` partials
        on change and one final. Blocking: call it from a worker thread.

        Raises:
            NoAudioDevice: no microphone, or the stream cannot be opened.
        """
        detector = detector or EndOfSpeech()
        rec = self._new_kaldi()
        partial = ""

        fed = False

        def on_block(block: bytes) -> bool:
            nonlocal partial, fed
            level = rms_level(block)
            self.bus.publish(VoiceLevel(level=level))
            done = detector.feed(level, len(block) / 2 / RATE)
            if not fed:
                block = skip_digital_silence(block)
                fed = bool(block)
                if not fed:
                    return done
            if rec.AcceptWaveform(block):
                # Vosk's own endpoint: keep the segment, the utterance may continue.
                segment = text_of(rec.Result())
                partial = ""
                if segment:
                    segments.append(segment)
            else:
                current = text_of(rec.PartialResult(), "partial")
                if current and current != partial:
                    partial = current
                    self.bus.publish(VoiceTranscript(text=" ".join([*segments, current]), final=False))
            return done

        segments: list[str] = []
        self._stream_blocks(cancel, on_block, max_seconds, on_live)
        last = text_of(rec.FinalResult())
        if last:
            segments.append(last)
        transcript = " ".join(segments).strip()
        self.bus.publish(VoiceTranscript(text=transcript, final=True))
        return transcript

    def wait_for_phrase(self, phrase: str, cancel: threading.Event) -> bool:
        """Listen until ``phrase`` is heard (True) or ``cancel`` is set (False). Blocking."""
        wanted = _normalise(phrase)
        rec = self._new_kaldi(grammar=[phrase.lower()])
        heard = False
        fed = False

        def on_block(block: bytes) -> bool:
            nonlocal heard, fed
            if not fed:
                # As in listen(): the recogniser starts at the first real audio, so the phrase is
                # heard the same way a question is.
                block = skip_digital_silence(block)
                fed = bool(block)
                if not fed:
                    return False
            if rec.AcceptWaveform(block):
                text = text_of(rec.Result())
            else:
                text = text_of(rec.PartialResult(), "partial")
            if wanted and wanted in _normalise(text):
                heard = True
            return heard

        self._stream_blocks(cancel, on_block, None, None)
        return heard

    def _stream_blocks(
        self,
        cancel: threading.Event,
        on_block: Callable[[bytes], bool],
        max_seconds: float | None,
        on_live: Callable[[], None] | None,
    ) -> None:
        """Open the input stream and hand each 50 ms block to ``on_block`` until it returns True."""
        sd = import_sounddevice()
        check_device(self.device, "input")
        blocks: queue.Queue[bytes] = queue.Queue()

        def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            blocks.put(bytes(indata))

        try:
            stream = sd.RawInputStream(
                samplerate=RATE,
                blocksize=BLOCK,
                device=device_arg(self.device),
                channels=1,
                dtype="int16",
                callback=callback,
            )
        except Exception as exc:
            raise NoAudioDevice(
                f"The microphone '{self.device}' could not be opened ({exc}).",
                "Pick another input device in Settings (voice.input_device); typing still works.",
            ) from exc
        started = time.monotonic()
        live = False
        with stream:
            while not cancel.is_set():
                if max_seconds is not None and live and time.monotonic() - started > max_seconds:
                    break
                try:
                    block = blocks.get(timeout=0.1)
                except queue.Empty:
                    if not live and time.monotonic() - started > 10.0:
                        raise NoAudioDevice(
                            f"The microphone '{self.device}' delivers no audio.",
                            "Check that it is connected and not muted; typing still works.",
                        ) from None
                    continue
                if not live:
                    live = True
                    started = time.monotonic()
                    self.bus.publish(VoiceStateChanged(state="listening"))
                    if on_live is not None:
                        on_live()
                if on_block(block):
                    break


def _normalise(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


def skip_digital_silence(pcm: bytes, threshold: int = 4) -> bytes:
    """``pcm`` from its first sample that is not digital silence (|x| > ``threshold``).

    A muted or virtual microphone delivers exact zeros before speech. Kaldi's online feature
    normalisation and i-vector adapt to that and garble the first words, so leading digital
    silence is never fed; a real microphone's noise floor is far above the threshold.
    """
    data = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(data.astype(np.int32)) > threshold)
    return b"" if loud.size == 0 else pcm[int(loud[0]) * 2 :]


def transcribe_pcm(model: Any, pcm: bytes, block: int = BLOCK) -> str:
    """Transcript of 16 kHz mono 16-bit ``pcm``, fed in blocks like a live stream."""
    import vosk

    pcm = skip_digital_silence(pcm)
    rec = vosk.KaldiRecognizer(model, RATE)
    segments = []
    for i in range(0, len(pcm), block * 2):
        if rec.AcceptWaveform(pcm[i : i + block * 2]):
            segments.append(text_of(rec.Result()))
    segments.append(text_of(rec.FinalResult()))
    return " ".join(s for s in segments if s).strip()


def transcribe_file(wav: Path, model: Any) -> str:
    """Transcript of a WAV file of any sample rate and channel count (resampled to 16 kHz mono).

    Blocking (about half the audio's duration on two cores): call it from a worker thread.

    Raises:
        InvalidRequest: the file is missing or not a PCM WAV.
    """
    samples, rate = read_wav(wav)
    return transcribe_pcm(model, to_pcm16(resample(samples, rate, RATE)))
