"""Endpointing: when an utterance has ended, and its transcripts as it goes (no audio device).

End of speech is decided by an energy detector in two steps (early endpoint, continued listening):

- after ``end_silence`` (0.2 s) of quiet the words so far become an *early final*: Vosk finalises
  them, ``VoiceTranscript(final=True)`` is published and ``on_final`` is called at once, so the
  answer can be prepared while the user may still go on;
- the stream stays open for ``resume_window`` (0.7 s) more. Speech in it (the pause between two
  sentences is often 0.3 s) continues the same utterance, and the next early final is the whole
  text so far: a *revision* that supersedes the previous one. Quiet through the window ends it.

A single 0.5 s wait, the old way, made every answer wait 0.5 s and still cut longer pauses.
:class:`Utterance` is what :meth:`Recognizer.listen` feeds with microphone blocks; the benchmark
feeds it the same way from a file, paced by the clock.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fame_desktop.orchestrator.events import EventBus, VoiceLevel, VoiceTranscript
from fame_desktop.orchestrator.voice.audio import RATE, rms_level

log = logging.getLogger("fame.voice.endpointing")

# Sums of 0.05 s blocks fall a hair short of round values (ten make 0.49999...): without slack
# a 0.5 s wait took eleven blocks.
_SLACK = 1e-6


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
        end_silence: Seconds of quiet after speech that make an endpoint (an early final).
        resume_window: Seconds of further quiet during which speech still continues the
            utterance; 0 makes the first endpoint the end of listening.
        no_speech_timeout: Seconds without any speech after which listening gives up.
        min_level: RMS below this is always silence (0..1).
        ratio: A block is speech when its RMS exceeds ``ratio`` times the noise floor.
    """

    end_silence: float = 0.2
    resume_window: float = 0.7
    no_speech_timeout: float = 8.0
    min_level: float = 0.01
    ratio: float = 3.0

    def __post_init__(self) -> None:
        self.noise = self.min_level / self.ratio
        self.heard = False
        self.quiet = 0.0
        self.elapsed = 0.0
        self.last_speech_at = 0.0  # stream seconds at the end of the last speech block

    @property
    def paused(self) -> bool:
        """Whether speech was heard and has been quiet for ``end_silence``: an endpoint."""
        return self.heard and self.quiet >= self.end_silence - _SLACK

    def feed(self, level: float, seconds: float) -> bool:
        """Account for one block; True when listening is over (or nothing came in time)."""
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
            return self.quiet >= self.end_silence + self.resume_window - _SLACK
        return self.elapsed >= self.no_speech_timeout


class Utterance:
    """One utterance's recognition: audio blocks in; level, partials and finals out.

    Args:
        kaldi: A ``vosk.KaldiRecognizer`` at 16 kHz, new or reset (a kept one is much faster, see
            :class:`~fame_desktop.orchestrator.voice.recognizer.Recognizer`).
        bus: Where ``VoiceLevel`` and ``VoiceTranscript`` are published.
        detector: The endpointing.
        on_final: Called (from the feeding thread) with each final transcript; see
            :meth:`Recognizer.listen`.
    """

    def __init__(
        self,
        kaldi: Any,
        bus: EventBus,
        detector: EndOfSpeech,
        on_final: Callable[[str], None] | None = None,
    ) -> None:
        self.kaldi = kaldi
        self.bus = bus
        self.detector = detector
        self.on_final = on_final
        self.segments: list[str] = []  # finalised parts, oldest first
        self.published = ""  # the last final transcript published
        self.finalize_seconds = 0.0  # how long the last FinalResult took
        self._partial = ""
        self._endpointed = False  # finalised at this pause; speech clears it
        self._fed = False

    def feed(self, block: bytes) -> bool:
        """Recognise one block of 16 kHz mono s16; True when the utterance is over."""
        level = rms_level(block)
        self.bus.publish(VoiceLevel(level=level))
        detector = self.detector
        done = detector.feed(level, len(block) / 2 / RATE)
        if not self._fed:
            block = skip_digital_silence(block)
            self._fed = bool(block)
            if not self._fed:
                return done
        if not detector.paused:
            self._endpointed = False  # speech (or its short pauses): the next endpoint revises
        if self.kaldi.AcceptWaveform(block):
            # Vosk's own endpoint: keep the segment, the utterance may continue.
            segment = text_of(self.kaldi.Result())
            self._partial = ""
            if segment:
                self.segments.append(segment)
        else:
            current = text_of(self.kaldi.PartialResult(), "partial")
            if current and current != self._partial:
                self._partial = current
                self.bus.publish(VoiceTranscript(text=" ".join([*self.segments, current]), final=False))
        if detector.paused and not self._endpointed and not done:
            self._finalise()  # the early final: quiet for end_silence, the stream stays open
        return done

    def finish(self) -> str:
        """End it (over, cancelled or timed out): the final transcript, "" if nothing was said."""
        if not self._endpointed:
            self._finalise()  # words after the last endpoint (push-to-talk release, time limit)
        if not self.published:
            self.bus.publish(VoiceTranscript(text="", final=True))
        return self.published

    def _finalise(self) -> None:
        started = time.perf_counter()
        last = text_of(self.kaldi.FinalResult())  # Vosk resets and takes more audio after this
        self.finalize_seconds = time.perf_counter() - started
        self._endpointed = True
        self._partial = ""
        if last:
            self.segments.append(last)
        transcript = " ".join(self.segments)
        if transcript and transcript != self.published:
            self.published = transcript
            self.bus.publish(VoiceTranscript(text=transcript, final=True))
            if self.on_final is not None:
                self.on_final(transcript)


def skip_digital_silence(pcm: bytes, threshold: int = 4) -> bytes:
    """``pcm`` from its first sample that is not digital silence (|x| > ``threshold``).

    A muted or virtual microphone delivers exact zeros before speech. Kaldi's online feature
    normalisation and i-vector adapt to that and garble the first words, so leading digital
    silence is never fed; a real microphone's noise floor is far above the threshold.
    """
    data = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(data.astype(np.int32)) > threshold)
    return b"" if loud.size == 0 else pcm[int(loud[0]) * 2 :]
