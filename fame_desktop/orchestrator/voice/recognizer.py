"""Speech to text with Vosk, from a microphone (sounddevice) or from a WAV file.

:meth:`Recognizer.listen` is blocking and runs in a worker thread: it opens a 16 kHz mono int16
input stream and feeds 50 ms blocks to an :class:`~fame_desktop.orchestrator.voice.endpointing.Utterance`,
which publishes the input level, partial and final transcripts on the event bus and decides the end
of speech (an early final after 0.2 s of quiet, then 0.7 s more for the user to go on). Listening
also stops on cancel or at a time limit.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fame_desktop.orchestrator.events import EventBus, VoiceStateChanged
from fame_desktop.orchestrator.voice.audio import (
    RATE,
    check_device,
    device_arg,
    import_sounddevice,
    read_wav,
    resample,
    to_pcm16,
)
from fame_desktop.orchestrator.voice.endpointing import EndOfSpeech, Utterance, skip_digital_silence, text_of
from fame_desktop.orchestrator.voice.errors import NoAudioDevice

log = logging.getLogger("fame.voice.recognizer")

BLOCK = 800  # 50 ms at 16 kHz: small blocks keep the end-of-speech decision quick


class Recognizer:
    """One Vosk model, listening through one input device.

    Args:
        model: A loaded ``vosk.Model``.
        bus: Where state, level and transcripts are published.
        device: sounddevice input (name, index as text, ``default`` or empty for the default).

    Keep one per model and device: its ``KaldiRecognizer`` is reused from listen to listen. Vosk
    expands its decoding graph lazily in each recogniser, so a fresh one decodes the first seconds
    of speech about 7x slower (real-time factor 0.8 instead of 0.11 here) and takes up to 0.7 s
    for a final transcript instead of about 0.1 s.
    """

    def __init__(self, model: Any, bus: EventBus, device: str = "default") -> None:
        self.model = model
        self.bus = bus
        self.device = device
        self._kaldi: Any = None  # warm: reused by every listen()

    def _new_kaldi(self, grammar: list[str] | None = None) -> Any:
        import vosk  # loaded with the first listen, not at start-up

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
        on_final: Callable[[str], None] | None = None,
    ) -> str:
        """Record until the end of speech, cancel or ``max_seconds``; return the final transcript.

        Publishes ``VoiceStateChanged('listening')`` when audio really flows (the first block can
        come 1-2 s after the stream starts), ``VoiceLevel`` per block, ``VoiceTranscript`` partials
        on change (the whole text so far) and a final at each endpoint. Blocking: call it from a
        worker thread.

        Args:
            cancel: Set it to stop (push-to-talk released): the words so far count.
            detector: Endpointing; the default waits 0.2 s, then 0.7 s more for a resumption.
            max_seconds: Longest listen once audio flows.
            on_live: Called when the first audio block arrives.
            on_final: Called from this thread with each final transcript as soon as it is known:
                at an early endpoint, again with the longer text when speech resumed (a revision),
                and at the end if words came after the last one. The last call is the result.

        Raises:
            NoAudioDevice: no microphone, or the stream cannot be opened.
        """
        if self._kaldi is None:
            self._kaldi = self._new_kaldi()
        else:
            self._kaldi.Reset()  # a new utterance; the expanded graph stays
        utterance = Utterance(self._kaldi, self.bus, detector or EndOfSpeech(), on_final)
        self._stream_blocks(cancel, utterance.feed, max_seconds, on_live)
        return utterance.finish()

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


def transcribe_pcm(model: Any, pcm: bytes, block: int = BLOCK) -> str:
    """Transcript of 16 kHz mono 16-bit ``pcm``, fed in blocks like a live stream."""
    import vosk  # loaded with the first transcription, not at start-up

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
