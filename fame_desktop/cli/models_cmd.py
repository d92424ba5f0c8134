"""``fame models list|download|use|import|remove``: the local language models.

``download`` shows the downloader's progress events (bytes, speed, time left) as one line that
updates in place on a terminal; Ctrl-C pauses it (the partial file is kept, the next ``download``
resumes). ``probe`` is what a frozen build runs to trial-load a model in a child process.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fame_desktop.cli.commands import help_of
from fame_desktop.cli.output import print_json
from fame_desktop.orchestrator.downloads import human_size
from fame_desktop.orchestrator.events import DownloadProgress
from fame_desktop.orchestrator.llm.model_store import ModelAdded

if TYPE_CHECKING:
    from fame_desktop.app import App


def register(sub: Any) -> None:
    """Add the ``models`` subcommand and its actions."""
    p: argparse.ArgumentParser = sub.add_parser("models", help=help_of("models"))
    actions = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    ls = actions.add_parser("list", help="The catalog and the installed models (the active one marked).")
    ls.add_argument("--json", action="store_true", help="Print JSON.")
    ls.set_defaults(func=list_models)

    d = actions.add_parser(
        "download",
        help="Download a catalog model by id (or, with an admin key, any .gguf URL); resumes a partial one.",
    )
    d.add_argument(
        "what", metavar="ID|URL", help="A catalog id from `fame models list`, or a .gguf URL (admin)."
    )
    d.add_argument("--sha256", metavar="HEX", help="Expected SHA-256 of a URL download.")
    d.add_argument("--json", action="store_true", help="Print the result as JSON.")
    d.set_defaults(func=download)

    u = actions.add_parser("use", help="Make an installed model the active one (llm.local_model).")
    u.add_argument("name", help="Its file name (or catalog id).")
    u.add_argument("--json", action="store_true", help="Print JSON.")
    u.set_defaults(func=use)

    i = actions.add_parser("import", help="Check a .gguf file and copy it into the models folder.")
    i.add_argument("path", type=Path, help="The .gguf file.")
    i.add_argument("--json", action="store_true", help="Print JSON.")
    i.set_defaults(func=import_model)

    r = actions.add_parser("remove", help="Delete an installed model (clears it if it was active).")
    r.add_argument("name", help="Its file name (or catalog id).")
    r.add_argument("--json", action="store_true", help="Print JSON.")
    r.set_defaults(func=remove)

    pr = actions.add_parser("probe", help="Trial-load a .gguf with llama.cpp and print the result (JSON).")
    pr.add_argument("path", type=Path, help="The .gguf file.")
    pr.set_defaults(func=probe)


async def list_models(args: argparse.Namespace, app: App) -> int:
    """Print the catalog (size, RAM, licence, state) and the installed models."""
    store = app.models
    rows, installed = await asyncio.to_thread(lambda: (store.rows(), store.installed()))
    if args.json:
        print_json(
            {
                "active": store.active_name,
                "models_dir": str(store.models_dir),
                "catalog": [r.to_dict() for r in rows],
                "installed": [m.to_dict() for m in installed],
            }
        )
        return 0
    print("Catalog:")
    for row in rows:
        e = row.entry
        state = "active" if row.active else "installed" if row.installed else ""
        if not state and row.partial:
            state = f"partial {human_size(row.partial)}"
        notes = [] if e.pinned else ["unpinned: admin only"]
        if not row.fits:
            notes.append("too large for this computer")
        print(
            f"  {e.id:<38} {human_size(e.size_bytes):>9}  RAM {human_size(e.ram_bytes):>8}  "
            f"{e.licence:<28} {state}" + (f"  ({'; '.join(notes)})" if notes else "")
        )
    print(f"Installed in {store.models_dir}:")
    for m in installed:
        print(f"  {'*' if m.active else ' '} {m.name:<44} {human_size(m.size):>9}")
    if not installed:
        print("  none: `fame models download ID` or `fame models import FILE.gguf`")
    return 0


class _ProgressLine:
    """Prints download progress events as one line, rewritten in place on a terminal."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.width = 0

    def __call__(self, event: DownloadProgress) -> None:
        if event.state == "downloading" and not self.tty:
            return  # a log or a pipe gets the start and the end, not hundreds of lines
        total = f" / {human_size(event.total)}" if event.total else ""
        pct = f" {100 * event.done / event.total:5.1f}%" if event.total else ""
        speed = f"  {human_size(event.speed)}/s" if event.speed else ""
        eta = f"  {event.eta:.0f} s left" if event.eta is not None and event.state == "downloading" else ""
        text = f"{event.state} {event.label}: {human_size(event.done)}{total}{pct}{speed}{eta}"
        if self.tty:
            print("\r" + text.ljust(self.width), end="", file=sys.stderr, flush=True)
            self.width = len(text)
        else:
            print(text, file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.tty and self.width:
            print(file=sys.stderr)


def _added(args: argparse.Namespace, added: ModelAdded, verb: str) -> int:
    if args.json:
        print_json(
            {
                "model": added.model.to_dict(),
                "info": added.info.to_dict(),
                "activated": added.activated,
                "resumed_from": added.resumed_from,
                "warning": added.warning,
            }
        )
    else:
        info = added.info
        print(
            f"{verb} {added.model.name} ({info.architecture}, {info.quantization}, "
            f"{human_size(info.file_size)})" + (" — now the active model" if added.activated else "")
        )
        if not added.activated:
            print(f"  make it active with: fame models use {added.model.name}")
    if added.warning:
        print(f"warning: {added.warning}", file=sys.stderr)
    return 0


async def download(args: argparse.Namespace, app: App) -> int:
    """Download a catalog model (or an admin's URL), with a progress line; Ctrl-C pauses."""
    line = _ProgressLine()
    sub = app.bus.subscribe(DownloadProgress, line)
    pause = threading.Event()
    try:
        added = await asyncio.to_thread(
            app.models.download,
            args.what,
            key=app.admin_key,
            actor="cli",
            sha256=args.sha256,
            pause=pause,
        )
    except asyncio.CancelledError:
        pause.set()  # Ctrl-C: the worker stops at its next chunk and keeps the partial file
        raise
    finally:
        await app.bus.drain()
        sub.cancel()
        line.end()
    return _added(args, added, "installed")


async def import_model(args: argparse.Namespace, app: App) -> int:
    """Check and import a ``.gguf`` file."""
    added = await asyncio.to_thread(app.models.import_file, args.path, actor="cli")
    return _added(args, added, "imported")


async def use(args: argparse.Namespace, app: App) -> int:
    """Make an installed model the active one."""
    model, info = await asyncio.to_thread(app.models.use, args.name, actor="cli")
    if args.json:
        print_json({"model": model.to_dict(), "info": info.to_dict()})
    else:
        print(f"using {model.name} ({info.architecture}, {info.quantization})")
    return 0


async def remove(args: argparse.Namespace, app: App) -> int:
    """Delete an installed model."""
    model = await asyncio.to_thread(app.models.remove, args.name, actor="cli")
    if args.json:
        print_json({"removed": model.to_dict(), "active": app.models.active_name})
    else:
        print(
            f"removed {model.name}"
            + (" (it was the active model; none is active now)" if model.active else "")
        )
    return 0


async def probe(args: argparse.Namespace, app: App) -> int:
    """Trial-load a model (the frozen build's child process for the import check)."""
    from fame_desktop.orchestrator.llm.gguf_probe import main as probe_main

    return await asyncio.to_thread(probe_main, [str(args.path)])
