"""Text to speech with pyttsx3, in its own thread, stoppable mid-sentence.

pyttsx3 synthesises each sentence to a WAV (``save_to_file``, tens of milliseconds with espeak-ng)
and this module plays it through one sounddevice output stream that stays open (silent when
idle), fed from a queue that :meth:`Speaker.stop` empties. Playing it ourselves, rather than with
pyttsx3's ``say()`` (which shells out to ``aplay`` and cannot be interrupted), is what makes stop
take effect at once; keeping the stream open avoids PortAudio/PulseAudio's startup delay (up to
2 s here) on every answer.

Workarounds for pyttsx3 2.99 (see ENVIRONMENT.md):
- the first ``runAndWait()`` after ``init()`` can return before the utterance is processed, which
  then happens during the next call: a warm-up utterance is synthesised first, and every output
  file is checked and the loop run again when it is missing;
- the espeak driver prints "Audio saved to ..." on stdout: that line is dropped while a
  synthesis runs (everything else written meanwhile passes through).
"""

from __future__ import annotations

import concurrent.futures
import io
import logging
import queue
import re
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from fame_desktop.orchestrator.voice.audio import (
    check_device,
    device_arg,
    import_sounddevice,
    read_wav,
    resample,
    to_pcm16,
)
from fame_desktop.orchestrator.voice.errors import NoAudioDevice, VoiceUnavailable

log = logging.getLogger("fame.voice.tts")

# espeak-ng keeps one synthesizer per process (pyttsx3 initialises it once and shares the engine),
# so synthesis from several Speaker threads must take turns.
_ESPEAK_LOCK = threading.Lock()

_SENTENCE_END = re.compile(r"(?<=[.!?。？！])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: the first one can play while the next is synthesised."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


class _QuietSaveNotice(io.TextIOBase):
    """Stdout wrapper that drops pyttsx3's "Audio saved to ..." line and passes everything else.

    The espeak driver prints it from espeak's own callback thread, so the line is matched by its
    text (``print`` writes the newline separately: that one is dropped for the same thread).
    """

    NOTICE = "Audio saved to "

    def __init__(self, real: TextIO) -> None:
        self._real = real
        self._newline_due: set[int] = set()

    def write(self, s: str) -> int:
        me = threading.get_ident()
        if s.startswith(self.NOTICE):
            self._newline_due.add(me)
            return len(s)
        if s == "\n" and me in self._newline_due:
            self._newline_due.discard(me)
            return len(s)
        return self._real.write(s)

    def flush(self) -> None:
        self._real.flush()


@dataclass
class _Job:
    kind: str  # "say" or "save"
    text: str
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)
    path: Path | None = None
    on_audio: Callable[[], None] | None = None


class Speaker:
    """Speaks text, or writes it to a WAV, from a dedicated thread.

    Args:
        voice: pyttsx3 voice id (empty: the default voice).
        rate: Words per minute.
        device: sounddevice output (name, index as text, ``default`` or empty for the default).
    """

    def __init__(self, *, voice: str = "", rate: int = 175, device: str = "") -> None:
        self.voice = voice
        self.rate = rate
        self.device = device
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: Any = None
        self._player: _Player | None = None
        self._speaking = threading.Event()
        self._lock = threading.Lock()

    @property
    def speaking(self) -> bool:
        """Whether audio is being played right now."""
        return self._speaking.is_set()

    def say(self, text: str, on_audio: Callable[[], None] | None = None) -> concurrent.futures.Future[float]:
        """Queue ``text`` to be spoken.

        Args:
            text: What to say.
            on_audio: Called (in the speech thread) when the first audio goes to the device.

        Returns:
            A future with the seconds of audio played (less than the whole when stopped). It
            fails with :class:`NoAudioDevice` when there is no speaker.
        """
        job = _Job("say", text, on_audio=on_audio)
        self._submit(job)
        return job.future

    def save(self, text: str, path: Path) -> concurrent.futures.Future[Path]:
        """Queue writing ``text`` as speech to the WAV file ``path``; the future gives the path."""
        job = _Job("save", text, path=path)
        self._submit(job)
        return job.future

    def stop(self) -> None:
        """Stop speaking now and drop queued utterances (their futures are cancelled)."""
        self._stop.set()
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.future.cancel()
            else:
                self._jobs.put(None)  # keep a pending close() request
                break

    def close(self, timeout: float = 5.0) -> None:
        """Stop and end the speech thread."""
        self.stop()
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout)

    # --- the speech thread ----------------------------------------------------------------------

    def _submit(self, job: _Job) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fame-tts", daemon=True)
                self._thread.start()
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                if self._player is not None:
                    self._player.close()
                    self._player = None
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            self._stop.clear()
            try:
                if job.kind == "save":
                    assert job.path is not None
                    self._synth(job.text, job.path)
                    job.future.set_result(job.path)
                elif job.kind == "prepare":
                    self._ensure_player().live.wait(5.0)
                    job.future.set_result(None)
                else:
                    job.future.set_result(self._speak(job))
            except Exception as exc:  # handed to the waiting caller
                job.future.set_exception(exc)
            finally:
                self._speaking.clear()

    def _ensure_engine(self) -> Any:
        if self._engine is not None:
            return self._engine
        try:
            import pyttsx3  # loaded when speech is first needed, not at start-up

            engine = pyttsx3.init()
        except Exception as exc:  # RuntimeError("could not initialize espeak"), missing driver
            raise VoiceUnavailable(
                f"Speech output is not available ({exc}).",
                "Install espeak-ng (Debian/Ubuntu: `apt-get install espeak-ng`).",
            ) from exc
        if self.voice:
            engine.setProperty("voice", self.voice)
        engine.setProperty("rate", self.rate)
        self._engine = engine
        # Warm-up: absorbs the first-runAndWait bug so the first real answer is not delayed.
        with tempfile.TemporaryDirectory(prefix="fame-tts-") as tmp:
            self._synth_locked(engine, "ok", Path(tmp) / "warmup.wav")
        return engine

    def _synth(self, text: str, path: Path) -> None:
        with _ESPEAK_LOCK:
            engine = self._ensure_engine()
            self._synth_locked(engine, text, path)

    @staticmethod
    def _synth_locked(engine: Any, text: str, path: Path) -> None:
        path.unlink(missing_ok=True)
        real = sys.stdout
        sys.stdout = _QuietSaveNotice(real)
        try:
            engine.save_to_file(text, str(path))
            engine.runAndWait()
            if not _has_frames(path):
                # The known pyttsx3 bug: the utterance is processed by the next loop run.
                engine.runAndWait()
        finally:
            sys.stdout = real
        if not _has_frames(path):
            raise VoiceUnavailable(
                f"Speech synthesis produced no audio for {text[:40]!r}.",
                "Check that espeak-ng works: `espeak-ng -w /tmp/t.wav hello`.",
            )

    def _speak(self, job: _Job) -> float:
        player = self._ensure_player()
        played = 0.0
        with tempfile.TemporaryDirectory(prefix="fame-tts-") as tmp:
            for i, sentence in enumerate(split_sentences(job.text)):
                if self._stop.is_set():
                    break
                wav_path = Path(tmp) / f"{i}.wav"
                self._synth(sentence, wav_path)
                samples, rate = read_wav(wav_path)
                pcm = to_pcm16(resample(samples, rate, player.rate))
                # Queue this sentence while the previous one still plays.
                player.enqueue(pcm, job.on_audio if i == 0 else None)
                self._speaking.set()
                played += len(pcm) / 2 / player.rate
            # Wait until the queued audio has played, or stop() cut it.
            while player.pending() and not self._stop.is_set():
                time.sleep(0.02)
            if self._stop.is_set():
                played -= player.pending() / 2 / player.rate
                player.clear()
        return max(0.0, played)

    def prepare(self) -> concurrent.futures.Future[None]:
        """Open the output device now, so the first answer starts without its startup delay.

        PortAudio through PulseAudio can take up to 2 s before the first buffer plays; the speaker
        keeps its output stream running (silent when idle) until :meth:`close`.
        """
        job = _Job("prepare", "")
        self._submit(job)
        return job.future

    def _ensure_player(self) -> _Player:
        if self._player is None:
            self._player = _Player(self.device)
        return self._player


class _Player:
    """A running output stream fed from a byte queue; silence when there is nothing to play."""

    rate = 22050  # espeak-ng's rate: no resampling in the common case

    def __init__(self, device: str) -> None:
        sd = import_sounddevice()
        check_device(device, "output")
        self._buf = bytearray()
        self._marks: list[tuple[int, Callable[[], None]]] = []  # (byte offset, on first audio)
        self._lock = threading.Lock()
        self.live = threading.Event()  # set by the first callback: audio now really flows
        try:
            self._stream = sd.RawOutputStream(
                samplerate=self.rate,
                channels=1,
                dtype="int16",
                device=device_arg(device),
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:
            raise NoAudioDevice(
                f"The speaker '{device or 'default'}' could not be opened ({exc}).",
                "Pick another output device, or turn spoken answers off; typing still works.",
            ) from exc

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        need = len(outdata)
        self.live.set()
        with self._lock:
            take = bytes(self._buf[:need])
            del self._buf[:need]
            due = [cb for off, cb in self._marks if off < len(take)]
            self._marks = [(off - len(take), cb) for off, cb in self._marks if off >= len(take)]
        outdata[: len(take)] = take
        if len(take) < need:
            outdata[len(take) :] = bytes(need - len(take))
        for cb in due:
            cb()

    def enqueue(self, pcm: bytes, on_audio: Callable[[], None] | None) -> None:
        with self._lock:
            if on_audio is not None:
                self._marks.append((len(self._buf), on_audio))
            self._buf.extend(pcm)

    def pending(self) -> int:
        with self._lock:
            return len(self._buf)

    def clear(self) -> None:
        with self._lock:
            self._buf.clear()
            self._marks.clear()

    def close(self) -> None:
        self.clear()
        self._stream.abort()
        self._stream.close()


def _has_frames(path: Path) -> bool:
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() > 0
    except (OSError, wave.Error, EOFError):
        return False


def wait_future(future: concurrent.futures.Future[Any], timeout: float | None = None) -> Any:
    """Result of a speech future; a cancelled one (after :meth:`Speaker.stop`) gives None."""
    start = time.monotonic()
    try:
        return future.result(timeout)
    except concurrent.futures.CancelledError:
        log.debug("speech cancelled after %.2fs", time.monotonic() - start)
        return None
