"""``fame admin ...``: keys (shown once, stored hashed), network, capabilities and settings."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from fame_desktop.cli.commands import help_of
from fame_desktop.cli.output import fail, print_json

if TYPE_CHECKING:
    from fame_desktop.app import App


def register(sub: Any) -> None:
    """Add the ``admin`` subcommand and its actions."""
    p: argparse.ArgumentParser = sub.add_parser("admin", help=help_of("admin"))
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("init", help="Create the first admin key (printed once).")
    add = actions.add_parser("add", help="Create another admin key (admin).")
    add.add_argument("--label", default="", help="What the key is for.")
    rm = actions.add_parser("remove", help="Remove an admin key by its id (admin).")
    rm.add_argument("key_id")
    actions.add_parser("list", help="List admin key ids (never the keys).")
    net = actions.add_parser("network", help="Turn the network on or off (admin).")
    net.add_argument("state", choices=["on", "off"])
    st = actions.add_parser("set", help="Change a setting by dotted path (admin for protected ones).")
    st.add_argument("path")
    st.add_argument("value", help='JSON value (true, 3, "text", ["a"]) or plain text.')
    actions.add_parser(
        "approve-settings", help="Apply admin settings that were changed outside FAME (admin)."
    )
    show = actions.add_parser("settings", help="Print the settings.")
    show.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


async def run(args: argparse.Namespace, app: App) -> int:
    """Run an admin action."""
    safety = app.safety
    if args.action == "init":
        key = safety.create_first_key(actor="cli")
        print("Admin key (shown once; store it in a password manager):\n")
        print(f"  {key}\n")
        print("Use it with --admin-key KEY or FAME_ADMIN_KEY=KEY.")
        return 0
    if args.action == "add":
        key = safety.add_key(key=app.admin_key, label=args.label, actor="cli")
        print(f"New admin key (shown once):\n\n  {key}\n")
        return 0
    if args.action == "remove":
        if not safety.remove_key(args.key_id, key=app.admin_key, actor="cli"):
            return fail(f"No admin key with id {args.key_id}.", "See `fame admin list`.")
        print(f"Removed admin key {args.key_id}.")
        return 0
    if args.action == "list":
        for k in safety.keys:
            print(f"{k.key_id}  {k.label or '-'}")
        return 0
    if args.action == "network":
        safety.update_settings({"network.allow_network": args.state == "on"}, key=app.admin_key, actor="cli")
        print(f"Network is {args.state}.")
        return 0
    if args.action == "set":
        try:
            value = json.loads(args.value)
        except ValueError:
            value = args.value
        if isinstance(app.settings.get(args.path), str) and not isinstance(value, str):
            value = args.value  # a text setting takes digits as text (a port number, a checksum)
        changed = safety.update_settings({args.path: value}, key=app.admin_key, actor="cli")
        print(
            f"{args.path} = {json.dumps(app.settings.get(args.path))}" + ("" if changed else " (unchanged)")
        )
        return 0
    if args.action == "approve-settings":
        pending = dict(app.settings.unapproved)
        if not pending:
            print("No settings are waiting for approval.")
            return 0
        safety.approve_settings(key=app.admin_key, actor="cli")
        for path, value in sorted(pending.items()):
            print(f"{path} = {json.dumps(value)} (approved)")
        return 0
    if args.action == "settings":
        print_json(app.settings.settings.model_dump())
        for path, value in sorted(app.settings.unapproved.items()):
            print(f"fame: NOT applied (changed outside FAME): {path} = {json.dumps(value)}", file=sys.stderr)
        return 0
    return fail(f"unknown admin action {args.action}")
