"""``fame setup``: the first-run assistant in a terminal (prompts, or flags with ``--yes``).

The same steps as the window's assistant, through the same domain calls
(:mod:`fame_desktop.orchestrator.first_run`): the first admin key (shown once, optionally kept in
the OS keyring), the Docker check with this platform's fix, the language model endpoint, and the
voice language with its model from the catalogue. Every step can be skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from typing import TYPE_CHECKING, Any

from fame_desktop.cli.commands import help_of
from fame_desktop.cli.output import print_json
from fame_desktop.orchestrator.downloads import human_size
from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.first_run import check_docker, create_admin_key, keyring_available, summary
from fame_desktop.orchestrator.voice.catalog import for_language, language_name
from fame_desktop.orchestrator.voice.download import ModelDownloader
from fame_desktop.orchestrator.voice.languages import effective_language, match, write_metadata
from fame_desktop.orchestrator.voice.models import find_models

if TYPE_CHECKING:
    from fame_desktop.app import App


def register(sub: Any) -> None:
    """Add the ``setup`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "setup",
        help=help_of("setup"),
        description="Set up FAME step by step. With a terminal it asks; with --yes (or no terminal) "
        "it does what the options say and skips the rest.",
    )
    p.add_argument("--yes", "-y", action="store_true", help="Ask nothing: use the options and defaults.")
    p.add_argument("--no-admin-key", action="store_true", help="Do not create the first admin key.")
    p.add_argument("--keyring", action="store_true", help="Keep the new admin key in the OS keyring.")
    p.add_argument("--network", choices=["on", "off"], help="Turn the network on or off (admin).")
    p.add_argument(
        "--local-model", metavar="ID", help="Download this catalog model to run here (`fame models list`)."
    )
    p.add_argument("--llm-url", metavar="URL", help="OpenAI-compatible endpoint of the language model.")
    p.add_argument("--llm-model", metavar="NAME", help="Model name at that endpoint.")
    p.add_argument("--voice-language", metavar="TAG", help="The language you speak (en-US, ko, de...).")
    p.add_argument(
        "--download-voice", action="store_true", help="Download the speech model for the voice language."
    )
    p.add_argument("--json", action="store_true", help="Print what was done as JSON at the end.")
    p.set_defaults(func=run)


class _Steps:
    """Runs the steps, asking when interactive; records what each did."""

    def __init__(self, args: argparse.Namespace, app: App) -> None:
        self.args = args
        self.app = app
        self.ask = not args.yes and sys.stdin.isatty()
        self.key: str | None = app.admin_key
        self.done: dict[str, Any] = {}

    def say(self, text: str = "") -> None:
        # With --json, stdout carries only the JSON; the narration goes to stderr.
        print(text, file=sys.stderr if self.args.json else sys.stdout)

    def confirm(self, question: str, default: bool) -> bool:
        if not self.ask:
            return default
        answer = input(f"{question} [{'Y/n' if default else 'y/N'}] ").strip().lower()
        return default if not answer else answer.startswith("y")

    def prompt(self, question: str, default: str) -> str:
        if not self.ask:
            return default
        answer = input(f"{question} [{default}] " if default else f"{question} ").strip()
        return answer or default

    # --- steps -----------------------------------------------------------------------------------

    def admin_key(self) -> None:
        self.say("== 1. Admin key")
        if len(self.app.safety.keys):
            self.say("An admin key exists already (see `fame admin list`).")
            self.done["admin_key"] = "exists"
            return
        if self.args.no_admin_key or not self.confirm("Create the first admin key now?", True):
            self.say("Skipped: create it later with `fame admin init` or in Settings.")
            self.done["admin_key"] = "skipped"
            return
        backend = keyring_available()
        keep = self.args.keyring or (
            backend is not None and self.confirm(f"Keep it in the OS keyring ({backend})?", False)
        )
        made = create_admin_key(self.app.safety, keep=keep, actor="cli")
        self.key = made.key
        self.say("Admin key (shown once; store it in a password manager):\n")
        self.say(f"  {made.key}\n")
        self.say("Use it with --admin-key KEY or FAME_ADMIN_KEY=KEY.")
        if made.keyring:
            self.say(f"Kept in the OS keyring ({made.keyring}).")
        elif made.keyring_problem:
            self.say(f"Not kept in the keyring: {made.keyring_problem}")
        # Shown once here too: a script running `fame setup --yes --json` must be able to keep it.
        self.done["admin_key"] = {"created": made.key_id, "key": made.key, "keyring": made.keyring or None}

    def network(self) -> None:
        wanted = self.args.network
        if wanted is None and self.ask and self.key:
            wanted = "on" if self.confirm("Allow network access (downloads, web search)?", False) else None
        if wanted is None:
            return
        self.app.safety.update_settings({"network.allow_network": wanted == "on"}, key=self.key, actor="cli")
        self.say(f"Network is {wanted}.")
        self.done["network"] = wanted

    def docker(self) -> None:
        self.say("== 2. Docker sandbox")
        result = check_docker(self.app.settings)
        if result.ok:
            self.say(f"ok: {result.detail}")
        else:
            self.say(f"NOT READY: {result.detail}")
            if result.how_to:
                self.say(f"  on this computer: {result.how_to}")
        self.done["docker"] = {"ok": result.ok, "detail": result.detail, "how_to": result.how_to}

    async def local_model(self) -> None:
        """Offer the model catalog (``fame models``) and download the one picked."""
        store = self.app.models
        rows = await asyncio.to_thread(store.rows)
        if any(row.installed for row in rows) and not self.args.local_model:
            active = store.active_name or "none active"
            self.say(f"Local model: {active} (`fame models list` shows them all).")
            return
        wanted = self.args.local_model
        if wanted is None and self.ask:
            self.say("Models that run on this computer (llama.cpp):")
            for row in rows:
                note = "" if row.fits else "  (needs more memory than this computer has)"
                size = human_size(row.entry.size_bytes)
                self.say(f"  {row.entry.id:<24} {row.entry.name}, {size}{note}")
            wanted = self.prompt("Download one now? Its id (empty: skip)", "") or None
        if not wanted:
            return
        try:
            added = await asyncio.to_thread(store.download, wanted, key=self.key, actor="cli")
        except FameError as exc:
            self.say(f"Model not downloaded: {exc.message}" + (f"\n  fix: {exc.fix}" if exc.fix else ""))
            self.done["local_model"] = {"id": wanted, "error": exc.message}
            return
        self.say(f"Installed {added.model.name}" + (" (now the active model)" if added.activated else ""))
        self.done["local_model"] = {"id": wanted, "installed": added.model.name}

    def llm(self) -> None:
        settings = self.app.settings
        url = self.args.llm_url
        if url is None:
            url = self.prompt(
                "OpenAI-compatible endpoint URL (empty: skip)?", str(settings.get("llm.base_url"))
            )
        model = self.args.llm_model
        if model is None and url:
            model = self.prompt("Model name at that endpoint?", str(settings.get("llm.model")))
        changes = {k: v for k, v in (("llm.base_url", url), ("llm.model", model)) if v is not None}
        changed = self.app.safety.update_settings(changes, key=self.key, actor="cli") if changes else {}
        if url:
            self.say(f"Endpoint: {url} (model {model or '-'})" + ("" if changed else " (unchanged)"))
        else:
            self.say("Skipped: the built-in plugins answer; set an endpoint later in Settings → LLM.")
        self.done["llm"] = {"base_url": url or "", "model": model or ""}

    async def voice(self) -> None:
        self.say("== 4. Voice")
        settings = self.app.settings
        current = effective_language(str(settings.get("voice.language")))
        language = self.args.voice_language or self.prompt("Which language will you speak?", current)
        if language != str(settings.get("voice.language")):
            self.app.safety.update_settings({"voice.language": language}, key=self.key, actor="cli")
        language = effective_language(str(settings.get("voice.language")))
        self.say(f"Voice language: {language_name(language)}")
        installed = [
            m for m in find_models("", self.app.paths.models) if m.valid and match(m.language, language)
        ]
        entry = for_language(language)
        self.done["voice"] = {"language": language, "model": str(installed[0].path) if installed else None}
        if installed:
            self.say(f"Speech model: {installed[0].name} ({installed[0].path})")
            return
        if entry is None:
            self.say("The catalogue has no speech model for it: choose a model folder in Settings → Voice.")
            return
        wanted = self.args.download_voice or self.confirm(
            f"Download {entry.model} ({entry.size / 1e6:.0f} MB)?", False
        )
        if not wanted:
            self.say(f"Not downloaded: `fame voice models --language {entry.language} --download` later.")
            return
        await self._download(
            entry.url_from(str(settings.get("voice.mirror_url"))), entry.language, entry.model
        )

    async def _download(self, url: str, language: str, model: str) -> None:
        downloader = ModelDownloader(
            self.app.paths.models, allow_network=bool(self.app.settings.get("network.allow_network"))
        )
        cancel = threading.Event()

        def progress(done: int, total: int | None) -> None:
            pct = f" {100 * done / total:5.1f}%" if total else ""
            print(f"\rdownloading {done / 1e6:8.1f} MB{pct}", end="", file=sys.stderr, flush=True)

        try:
            result = await asyncio.to_thread(downloader.download, url, progress=progress, cancel=cancel)
        except asyncio.CancelledError:
            cancel.set()
            raise
        except FameError as exc:
            print(file=sys.stderr)
            self.say(f"Download failed: {exc.message}" + (f"\n  fix: {exc.fix}" if exc.fix else ""))
            self.done["voice"]["download_error"] = exc.message
            return
        print(file=sys.stderr)
        write_metadata(result.path, language, model)
        self.say(f"Installed {result.path}")
        self.done["voice"]["model"] = str(result.path)


async def run(args: argparse.Namespace, app: App) -> int:
    """Run the set-up steps; 0 unless a step failed in a way the user must fix now."""
    steps = _Steps(args, app)
    steps.admin_key()
    steps.network()
    steps.docker()
    steps.say("== 3. Language model")
    await steps.local_model()
    steps.llm()
    await steps.voice()
    rows = summary(app.paths, app.settings, app.safety)
    steps.say("== Done")
    for what, state in rows:
        steps.say(f"{what + ':':<16} {state}")
    steps.say("Run `fame setup` again any time, or use Help → First-run assistant in the window.")
    if args.json:
        print_json({"steps": steps.done, "summary": dict(rows)})
    return 0
