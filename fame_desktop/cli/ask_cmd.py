"""``fame ask TEXT [--intent I] [--json]``."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import TYPE_CHECKING, Any

from fame_desktop.cli.commands import help_of
from fame_desktop.cli.output import print_json
from fame_plugin_api.intents import INTENTS

if TYPE_CHECKING:
    from fame_desktop.app import App


def _ask_which(clarify: dict[str, Any]) -> str | None:
    """Ask which intent was meant (on a terminal), or print how to say it; the chosen intent."""
    options = clarify["options"]
    print(clarify["question"])
    for number, option in enumerate(options, 1):
        print(f"  {number}. {option['label']} ({option['intent']}): {option['description']}")
    if not sys.stdin.isatty():
        text = shlex.quote(clarify["text"])
        for option in options:
            print(f"  fame ask --intent {option['intent']} {text}")
        return None
    while True:
        try:
            answer = input(f"Which one? [1-{len(options)}] ").strip()
        except EOFError:
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return str(options[int(answer) - 1]["intent"])
        print(f"Type a number from 1 to {len(options)}.")


def register(sub: Any) -> None:
    """Add the ``ask`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser("ask", help=help_of("ask"))
    p.add_argument("text", nargs="+", help="The query.")
    p.add_argument("--intent", choices=sorted(INTENTS), help="Skip routing and use this intent.")
    p.add_argument("--json", action="store_true", help="Print the whole query response object.")
    p.add_argument("--user", help="Who asks (audited).")
    p.set_defaults(func=run)


async def run(args: argparse.Namespace, app: App) -> int:
    """Answer and print; exit 1 when the answer carries an error."""
    request: dict[str, Any] = {"text": " ".join(args.text), "source": "cli"}
    if args.intent:
        request["intent"] = args.intent
    if args.user:
        request["user"] = args.user
    if app.admin_key:
        request["admin_key"] = app.admin_key
    # One question: only the plugin it is routed to is imported (the others are listed).
    await app.brain.start(import_plugins=False)
    response = await app.brain.handle_query(request)
    clarify = response["data"].get("clarify") if isinstance(response["data"], dict) else None
    if clarify and not args.json:
        chosen = _ask_which(clarify)
        if chosen is None:
            return 0
        request.update(intent=chosen, params={"clarify_options": [o["intent"] for o in clarify["options"]]})
        response = await app.brain.handle_query(request)
    if args.json:
        print_json(response)
    elif response["error"]:
        print(f"fame: {response['error']['message']}", file=sys.stderr)
    else:
        print(response["response"])
        print(
            f"\n[{response['intent']} · {', '.join(response['plugins'])} · "
            f"{response['processing_time_ms']:.0f} ms · audit #{response['audit_id']}]",
            file=sys.stderr,
        )
    return 1 if response["error"] else 0
