"""The voice adapter: microphone -> Vosk -> Brain -> pyttsx3, as one object front ends drive.

Everything blocking (model loading, recording, recognition, synthesis) runs in worker threads
that watch a cancel flag; the adapter's coroutines only await them. The adapter publishes what it
does on the event bus, so a window only observes:

- ``VoiceStateChanged.state``: ``loading`` (model), ``starting`` (microphone opening; the first
  audio can take 1-2 s), ``listening``, ``thinking`` (waiting for the Brain), ``speaking``,
  ``wake`` (waiting for the wake phrase), ``idle``, ``error`` (``detail`` says what and the fix);
- ``VoiceLevel.level`` (0..1) and ``VoiceTranscript`` (partial while listening, a final at each
  endpoint: the early final, then the longer revisions if the user went on after a pause).

:meth:`VoiceAdapter.voice_query` asks the Brain speculatively at the early final (0.2 s after the
speech), while the recogniser still listens for a resumption; a revision cancels that query and
asks again with the whole text, so a pause between two sentences costs one cancelled query, not a
half question. Answers are only spoken once listening has ended: the microphone would hear them.

Speaking stops when the user starts talking (a new listen, by button or wake phrase) or when
:meth:`VoiceAdapter.stop_speaking` is called. The microphone is not used to detect talking over
the answer: it would hear the answer itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import re
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.events import EventBus, SettingsChanged, VoiceStateChanged
from fame_desktop.orchestrator.settings import SettingsStore
from fame_desktop.orchestrator.voice.catalog import default_wake_phrase, language_name
from fame_desktop.orchestrator.voice.languages import base, effective_language, normalise
from fame_desktop.orchestrator.voice.models import (
    LanguageModelMissing,
    choose_model,
    find_models,
    load_model,
)

if TYPE_CHECKING:
    from fame_desktop.orchestrator.voice.recognizer import Recognizer
    from fame_desktop.orchestrator.voice.tts import Speaker

log = logging.getLogger("fame.voice")

Ask = Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]

# Why a speculative query was cancelled: the ``CancelledError``'s message in ``ask``. (The Brain
# audits any cancel as ``query_cancelled``; the message does not survive its plugin calls.)
SUPERSEDED = "superseded by a longer transcript"
DISCARDED = "the listen was discarded"

_CODE_BLOCK = re.compile(r"```.*?(```|$)", re.S)
_MARKUP = re.compile(r"[`*_#>|]+")


def speakable(text: str, limit: int = 600) -> str:
    """The part of an answer worth saying aloud: no code blocks or markdown marks, not too long."""
    text = _CODE_BLOCK.sub(" (code is shown in the window) ", text)
    text = " ".join(_MARKUP.sub(" ", text).split())
    if len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0]
        text = f"{cut}. The rest is in the window."
    return text


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Collect a superseded query's outcome, so asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()


class VoiceAdapter:
    """Push-to-talk, wake phrase, spoken answers.

    Args:
        settings: The settings store (``voice.*`` is read at each use, so changes apply at once).
        bus: Where voice events are published.
        ask: The Brain's ``handle_query``.
        models_dir: ``<data dir>/models`` (default: next to the settings file).
        end_silence: Seconds of quiet that make an early final (the endpoint).
        resume_window: Seconds of further quiet during which speech continues the utterance.
    """

    def __init__(
        self,
        settings: SettingsStore,
        bus: EventBus,
        ask: Ask,
        *,
        models_dir: Path | None = None,
        end_silence: float = 0.2,
        resume_window: float = 0.7,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.ask = ask
        self.models_dir = models_dir or settings.path.parent / "models"
        self.end_silence = end_silence
        self.resume_window = resume_window
        self._model: Any = None
        self._model_path: Path | None = None
        self._model_lock = asyncio.Lock()
        self._speaker: Speaker | None = None
        self._recognizer_kept: Recognizer | None = None
        self._speech: asyncio.Task[None] | None = None
        self._listen_cancel: threading.Event | None = None
        self._discard = False
        self._listening = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._wake_task: asyncio.Task[None] | None = None
        self._wake_cancel: threading.Event | None = None
        self._subscription: Any = None

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Follow settings changes; start the wake listener and warm the speaker if enabled."""
        self._subscription = self.bus.subscribe(SettingsChanged, self._on_settings)
        self._apply_settings()

    async def aclose(self) -> None:
        """Stop listening and speaking, end the worker threads."""
        if self._subscription is not None:
            self._subscription.cancel()
        await self._stop_wake()
        self.finish_listening(discard=True)
        self.stop_speaking()
        if self._speech is not None:
            with contextlib.suppress(asyncio.CancelledError, FameError):
                await self._speech
        if self._speaker is not None:
            await asyncio.to_thread(self._speaker.close)
            self._speaker = None

    def _on_settings(self, event: SettingsChanged) -> None:
        if any(key.startswith("voice.") for key in event.changes):
            if "voice.tts_voice" in event.changes or "voice.tts_rate" in event.changes:
                self._drop_speaker()
            self._apply_settings()

    def _apply_settings(self) -> None:
        voice = self.settings.settings.voice
        if voice.speak_answers:
            self._warm_speaker()
        if voice.wake_word_enabled and self._wake_task is None:
            self._wake_task = asyncio.get_running_loop().create_task(self._wake_loop())
        elif not voice.wake_word_enabled and self._wake_task is not None:
            asyncio.get_running_loop().create_task(self._stop_wake())

    # --- language -------------------------------------------------------------------------------

    def language(self) -> str:
        """The voice language: ``voice.language``, or the system's when it is empty."""
        return effective_language(self.settings.settings.voice.language)

    def wake_phrase(self) -> str:
        """The wake phrase of the voice language ("" when there is none for it).

        ``voice.wake_phrase`` (any language) wins; then ``voice.wake_phrases`` by tag or by
        language; then FAME's default for the language (the catalogue's).
        """
        voice = self.settings.settings.voice
        if voice.wake_phrase.strip():
            return voice.wake_phrase.strip()
        language = self.language()
        phrases = {normalise(k): v.strip() for k, v in voice.wake_phrases.items() if v.strip()}
        return phrases.get(language) or phrases.get(base(language)) or default_wake_phrase(language)

    def choose(self) -> Path:
        """The model folder for the voice language (see :func:`choose_model`).

        Raises:
            ModelProblem: none is installed for the language (:class:`LanguageModelMissing`), or
                the chosen one is broken or speaks another language.
        """
        voice = self.settings.settings.voice
        return choose_model(voice.model_path, self.models_dir, language=self.language())

    # --- status ---------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What works and what does not, with fixes; never raises.

        Returns:
            ``ready`` (push-to-talk can work), ``model``/``microphone``/``speaker`` each with
            ``found``, ``detail``, ``problem``, ``fix``; ``problems`` (list of ``{message, fix}``);
            ``models`` (every model found); ``listening``, ``speaking``, ``wake_word``;
            ``language`` (tag) and ``language_name``; ``wake_phrase``; ``offer`` (the catalogue
            model to download when none is installed for the language, else None).
        """
        # numpy and sounddevice load on first use, not when the app starts.
        from fame_desktop.orchestrator.voice.audio import check_device

        voice = self.settings.settings.voice
        problems: list[dict[str, str]] = []

        def part(check: Callable[[], str]) -> dict[str, Any]:
            try:
                return {"found": True, "detail": check(), "problem": "", "fix": ""}
            except FameError as exc:
                problems.append({"message": exc.message, "fix": exc.fix})
                return {"found": False, "detail": "", "problem": exc.message, "fix": exc.fix}

        language = self.language()
        offer: dict[str, Any] | None = None

        def check_model() -> str:
            nonlocal offer
            try:
                return str(self.choose())
            except LanguageModelMissing as exc:
                if exc.offer is not None:
                    offer = {
                        "language": exc.offer.language,
                        "model": exc.offer.model,
                        "url": exc.offer.url,
                        "size": exc.offer.size,
                        "name": exc.offer.name,
                    }
                raise

        model = part(check_model)
        mic = part(lambda: str(check_device(voice.input_device, "input")["name"]))
        speaker = part(lambda: str(check_device("", "output")["name"]))
        return {
            "ready": model["found"] and mic["found"],
            "model": model,
            "microphone": mic,
            "speaker": speaker,
            "problems": problems,
            "models": [m.to_dict() for m in find_models(voice.model_path, self.models_dir)],
            "listening": self._listening,
            "speaking": self.speaking,
            "wake_word": voice.wake_word_enabled,
            "language": language,
            "language_name": language_name(language),
            "wake_phrase": self.wake_phrase(),
            "offer": offer,
        }

    # --- listening ------------------------------------------------------------------------------

    async def model(self) -> Any:
        """The loaded Vosk model (loaded once in a worker thread; reloaded if the choice changes).

        Raises:
            ModelProblem: no model, or a broken one.
        """
        path = self.choose()
        async with self._model_lock:
            if self._model is None or self._model_path != path:
                self._state("loading", str(path))
                self._model = await asyncio.to_thread(load_model, path)
                self._model_path = path
            return self._model

    async def listen_once(
        self, cancel: threading.Event | None = None, on_final: Callable[[str], None] | None = None
    ) -> str:
        """Record one utterance and return its transcript ("" if nothing was said).

        Stops speaking first. Ends at the end of speech, when ``cancel`` is set, or when
        :meth:`finish_listening` is called (push-to-talk released: the words so far count).

        Args:
            cancel: Set it to finish listening (the words so far count).
            on_final: Called on the event loop with each final transcript while listening goes
                on: the early final, then each revision (the whole, longer text). Each supersedes
                the one before; the last equals the returned transcript unless it was discarded.

        Raises:
            VoiceUnavailable: no model or no microphone (also published as state ``error``).
        """
        if self._listening:
            raise FameError("Already listening.", "Release or click the microphone button first.")
        self.stop_speaking()
        self._listening = True
        self._idle.clear()
        self._discard = False
        stop = cancel or threading.Event()
        self._listen_cancel = stop
        if self._wake_cancel is not None:
            self._wake_cancel.set()  # the wake watcher gives the microphone to us
        try:
            # numpy and the recogniser load with the first listen, not at start-up.
            from fame_desktop.orchestrator.voice.endpointing import EndOfSpeech

            model = await self.model()
            self._state("starting")
            recognizer = self._recognizer(model)
            detector = EndOfSpeech(end_silence=self.end_silence, resume_window=self.resume_window)
            loop = asyncio.get_running_loop()

            def deliver(text: str) -> None:  # worker thread -> loop, before listen() returns
                if on_final is not None:
                    loop.call_soon_threadsafe(on_final, text)

            transcript = await asyncio.to_thread(recognizer.listen, stop, detector=detector, on_final=deliver)
            return "" if self._discard else transcript
        except FameError as exc:
            self._state("error", f"{exc.message} {exc.fix}".strip())
            raise
        finally:
            self._listening = False
            self._listen_cancel = None
            self._idle.set()
            if self._last_state() != "error":
                self._state("idle")

    def _recognizer(self, model: Any) -> Recognizer:
        """The recogniser of ``model`` and the input device, kept warm from listen to listen."""
        from fame_desktop.orchestrator.voice.recognizer import Recognizer  # numpy: first listen, not start-up

        device = self.settings.settings.voice.input_device
        kept = self._recognizer_kept
        if kept is None or kept.model is not model or kept.device != device:
            kept = self._recognizer_kept = Recognizer(model, self.bus, device)
        return kept

    def finish_listening(self, *, discard: bool = False) -> None:
        """Stop recording now; keep what was heard, or drop it with ``discard``."""
        if self._listen_cancel is not None:
            self._discard = discard
            self._listen_cancel.set()

    @property
    def listening(self) -> bool:
        """Whether the microphone is recording an utterance."""
        return self._listening

    async def voice_query(self, cancel: threading.Event | None = None) -> dict[str, Any] | None:
        """Listen, ask the Brain (``source: voice``), and speak the answer if enabled.

        The Brain is asked at the early final, while listening goes on; a revision cancels that
        query (the Brain audits it as ``query_cancelled``, never as an error) and asks again.

        Returns:
            The query response, or None when nothing was said. Speaking continues in the
            background; :meth:`wait_speaking` waits for it.
        """
        loop = asyncio.get_running_loop()
        asked: tuple[str, asyncio.Task[dict[str, Any]]] | None = None

        def ask_early(text: str) -> None:
            nonlocal asked
            if asked is not None:
                asked[1].cancel(SUPERSEDED)
            asked = (text, loop.create_task(self.ask({"text": text, "source": "voice"})))
            asked[1].add_done_callback(_retrieve)

        try:
            transcript = await self.listen_once(cancel, on_final=ask_early)
            if asked is not None and asked[0] != transcript:
                asked[1].cancel(SUPERSEDED if transcript else DISCARDED)
                asked = None
            if not transcript:
                self._state("idle", "Nothing was heard.")
                return None
            self._state("thinking", transcript)
            if asked is None:
                asked = (transcript, loop.create_task(self.ask({"text": transcript, "source": "voice"})))
            try:
                response = await asked[1]
            except FameError as exc:
                self._state("error", f"{exc.message} {exc.fix}".strip())
                raise
        finally:
            if asked is not None and not asked[1].done():
                asked[1].cancel()  # voice_query itself was cancelled, or listening failed
        if self.speak_answer(response) is None:
            self._state("idle")
        return response

    # --- speaking -------------------------------------------------------------------------------

    def speak_answer(self, response: dict[str, Any]) -> asyncio.Task[None] | None:
        """Speak a query response's answer (or its error message) if "speak answers" is on.

        Front ends that ask the Brain themselves (the window's chat) call this with the response,
        so typed and voice queries are spoken the same way.

        Returns:
            The speaking task, or None when nothing is spoken (setting off, or no text).
        """
        answer = str(response.get("response") or "")
        error = response.get("error")
        if not answer and isinstance(error, dict):
            answer = str(error.get("message", ""))
        if not (self.settings.settings.voice.speak_answers and answer):
            return None
        return self.say(answer)

    def say(self, text: str) -> asyncio.Task[None]:
        """Start speaking ``text`` (replacing anything being said); returns the speaking task."""
        self.stop_speaking()
        self._speech = asyncio.get_running_loop().create_task(self._say(speakable(text)))
        return self._speech

    async def _say(self, text: str) -> None:
        # An answer ready during the resume window waits: the microphone would hear it.
        await self._idle.wait()
        speaker = self._get_speaker()
        future = speaker.say(text, on_audio=lambda: self._state("speaking"))
        try:
            await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            speaker.stop()
            if not self._listening:
                self._state("idle")  # stopped: no longer speaking
            raise
        except FameError as exc:
            self._state("error", f"{exc.message} {exc.fix}".strip())
            return
        if not self._listening:
            self._state("idle")

    async def wait_speaking(self) -> None:
        """Wait until the current answer has been spoken (or stopped)."""
        if self._speech is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._speech

    def stop_speaking(self) -> None:
        """Stop the spoken answer now (the Stop button; also when the user starts talking).

        An answer still waiting for listening to end is dropped too.
        """
        if self._speech is not None and not self._speech.done():
            self._speech.cancel()
        if self._speaker is not None:
            self._speaker.stop()

    @property
    def speaking(self) -> bool:
        """Whether an answer is being spoken."""
        return self._speech is not None and not self._speech.done()

    def _get_speaker(self) -> Speaker:
        if self._speaker is None:
            from fame_desktop.orchestrator.voice.tts import Speaker  # first answer spoken, not start-up

            voice = self.settings.settings.voice
            self._speaker = Speaker(voice=voice.tts_voice, rate=voice.tts_rate)
        return self._speaker

    def _warm_speaker(self) -> None:
        def report(future: concurrent.futures.Future[None]) -> None:
            if not future.cancelled() and future.exception() is not None:
                log.warning("speaker not ready: %s", future.exception())

        self._get_speaker().prepare().add_done_callback(report)

    def _drop_speaker(self) -> None:
        if self._speaker is not None:
            speaker, self._speaker = self._speaker, None
            threading.Thread(target=speaker.close, name="fame-tts-close", daemon=True).start()

    # --- wake phrase ----------------------------------------------------------------------------

    async def _wake_loop(self) -> None:
        """Wait for the wake phrase, then run a voice query; repeat until turned off."""
        try:
            while self.settings.settings.voice.wake_word_enabled:
                await self._idle.wait()
                model = await self.model()
                phrase = self.wake_phrase()
                if not phrase:
                    raise FameError(
                        f"There is no wake phrase for {language_name(self.language())}.",
                        "Set one in Settings → Voice (voice.wake_phrases, e.g. "
                        f"{base(self.language())}=<your phrase>).",
                    )
                stop = threading.Event()
                self._wake_cancel = stop
                self._state("wake", phrase)
                recognizer = self._recognizer(model)
                heard = await asyncio.to_thread(recognizer.wait_for_phrase, phrase, stop)
                self._wake_cancel = None
                if heard and not self._listening:
                    log.info("wake phrase heard")
                    await self.voice_query()
        except FameError as exc:
            # No model or microphone: say so once and stop, rather than retrying in a loop.
            self._state("error", f"Wake phrase listening stopped: {exc.message} {exc.fix}".strip())
        finally:
            self._wake_cancel = None
            self._wake_task = None

    async def _stop_wake(self) -> None:
        task = self._wake_task
        if self._wake_cancel is not None:
            self._wake_cancel.set()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if not self._listening and not self.speaking:
                self._state("idle")  # no longer waiting for the wake phrase

    # --- events ---------------------------------------------------------------------------------

    def _state(self, state: str, detail: str = "") -> None:
        self.bus.publish(VoiceStateChanged(state=state, detail=detail))

    def _last_state(self) -> str:
        last = self.bus.history(VoiceStateChanged)[-1:]
        return last[0].state if last else ""
