"""``fame plugins [--json] [--reload NAME] [--enable NAME] [--disable NAME]`` and
``fame plugins approve|revoke NAME --admin-key KEY``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from fame_desktop.cli.commands import help_of
from fame_desktop.cli.output import fail, print_json
from fame_desktop.orchestrator.plugin_admin import approve_plugin, revoke_plugin, set_plugin_enabled

if TYPE_CHECKING:
    from fame_desktop.app import App


def register(sub: Any) -> None:
    """Add the ``plugins`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser("plugins", help=help_of("plugins"))
    p.add_argument("--json", action="store_true", help="Print JSON.")
    p.add_argument("--reload", metavar="NAME", help="Reload a plugin from its file.")
    p.add_argument("--enable", metavar="NAME", help="Enable a plugin.")
    p.add_argument("--disable", metavar="NAME", help="Disable a plugin.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    approve = actions.add_parser(
        "approve", help="Approve a user plugin's file as it is now, by its SHA-256 (admin)."
    )
    approve.add_argument("name")
    approve.add_argument(
        "--sha256", help="The hash you reviewed (from `fame plugins`); refused if the file changed since."
    )
    approve.add_argument("--json", action="store_true", help="Print JSON.")
    revoke = actions.add_parser("revoke", help="Withdraw a user plugin's approval (admin).")
    revoke.add_argument("name")
    revoke.add_argument("--json", action="store_true", help="Print JSON.")
    p.set_defaults(func=run, action=None)


async def run(args: argparse.Namespace, app: App) -> int:
    """List plugins with their status; exit 1 if any failed to load."""
    await app.brain.start()
    manager = app.services.plugins
    if args.action == "approve":
        rec = approve_plugin(app.services, args.name, key=app.admin_key, actor="cli", sha256=args.sha256)
        return _report(args, rec.to_dict(), f"Approved {rec.name} (SHA-256 {rec.sha256}): {rec.status}")
    if args.action == "revoke":
        rec = revoke_plugin(app.services, args.name, key=app.admin_key, actor="cli")
        return _report(args, rec.to_dict(), f"Revoked {rec.name}: {rec.status}")
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
            _print_record(r)
    return 1 if any(r["status"] == "failed" for r in records) else 0


def _report(args: argparse.Namespace, record: dict[str, Any], text: str) -> int:
    if args.json:
        print_json(record)
    else:
        print(text)
        if record["error"]:
            print(f"  error: {record['error']}")
    return 1 if record["status"] == "failed" else 0


def _print_record(r: dict[str, Any]) -> None:
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
    status = "waiting" if r["status"] == "awaiting_approval" else r["status"]
    line = f"{status:<9} {r['name']:<22} {r.get('version', '-'):<8} {intents}"
    print(line + (f"  [{flags}]" if flags else ""))
    if r["status"] == "awaiting_approval":
        print(f"          waiting for approval: {r['path']}")
        print(f"          SHA-256 {r['sha256']}")
        print(f"          approve with: {r['approve_command']} --sha256 {r['sha256']}")
    elif r["error"]:
        print(f"          error: {r['error']}")
