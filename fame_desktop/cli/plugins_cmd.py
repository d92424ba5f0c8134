"""``fame plugins [--json] [--reload NAME] [--enable NAME] [--disable NAME]``."""

from __future__ import annotations

import argparse
from typing import Any

from fame_desktop.app import App
from fame_desktop.cli.output import fail, print_json
from fame_desktop.orchestrator.plugin_admin import set_plugin_enabled


def register(sub: Any) -> None:
    """Add the ``plugins`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "plugins", help="List plugins, reload, enable or disable one."
    )
    p.add_argument("--json", action="store_true", help="Print JSON.")
    p.add_argument("--reload", metavar="NAME", help="Reload a plugin from its file.")
    p.add_argument("--enable", metavar="NAME", help="Enable a plugin.")
    p.add_argument("--disable", metavar="NAME", help="Disable a plugin.")
    p.set_defaults(func=run)


async def run(args: argparse.Namespace, app: App) -> int:
    """List plugins with their status; exit 1 if any failed to load."""
    await app.brain.start()
    manager = app.services.plugins
    if args.reload:
        rec = manager.reload(args.reload)
        if rec.status == "failed":
            return fail(f"{rec.name} failed to reload: {rec.error}")
    for name, enabled in ((args.enable, True), (args.disable, False)):
        if name:
            set_plugin_enabled(app.services, name, enabled, key=app.admin_key, actor="cli")
    records = [r.to_dict() for r in manager.records()]
    if args.json:
        print_json(records)
    else:
        for r in records:
            flags = " ".join(
                f
                for f, on in (
                    ("network", r.get("needs_network")),
                    ("admin", r.get("admin_only")),
                    ("DANGEROUS", r.get("dangerous")),
                )
                if on
            )
            intents = ", ".join(r.get("intents", {}))
            line = f"{r['status']:<9} {r['name']:<22} {r.get('version', '-'):<8} {intents}"
            print(line + (f"  [{flags}]" if flags else ""))
            if r["error"]:
                print(f"          error: {r['error']}")
    return 1 if any(r["status"] == "failed" for r in records) else 0
