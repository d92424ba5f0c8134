"""``fame routing stats|export|reset``: what the router learned from you, and how well it routes."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fame_desktop.cli.commands import help_of
from fame_desktop.cli.output import print_json

if TYPE_CHECKING:
    from fame_desktop.app import App


def register(sub: Any) -> None:
    """Add the ``routing`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser("routing", help=help_of("routing"))
    actions = p.add_subparsers(dest="routing_action", metavar="ACTION", required=True)
    stats = actions.add_parser("stats", help="Feedback counts and routing accuracy per week.")
    stats.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    stats.set_defaults(func=run_stats)
    export = actions.add_parser("export", help="Your corrections as labelled data (intent<TAB>query).")
    export.add_argument("file", nargs="?", help="Write to FILE instead of standard output.")
    export.set_defaults(func=run_export)
    reset = actions.add_parser("reset", help="Forget every correction and rating (retrains the router).")
    reset.set_defaults(func=run_reset)


async def run_stats(args: argparse.Namespace, app: App) -> int:
    """Print feedback counts and weekly accuracy."""
    items = app.brain.routing_feedback.all()
    weeks = app.brain.routing_feedback.weekly()
    figures: dict[str, Any] = {
        "feedback": len(items),
        "corrections": sum(i.wrong_route for i in items),
        "thumbs_up": sum(i.rating == 1 for i in items),
        "thumbs_down": sum(i.rating == -1 for i in items),
        "weeks": [
            {
                "week_start": time.strftime("%Y-%m-%d", time.localtime(w.week_start)),
                "answers": w.answers,
                "corrected": w.corrected,
                "accuracy": round(w.accuracy, 4),
            }
            for w in weeks
        ],
    }
    if args.json:
        print_json(figures)
        return 0
    print(
        f"{figures['feedback']} feedback entries: {figures['corrections']} corrections, "
        f"{figures['thumbs_up']} thumbs up, {figures['thumbs_down']} thumbs down"
    )
    if not weeks:
        print("No feedback yet: use 'wrong plugin?' and the thumbs under an answer in the window.")
    for week in figures["weeks"]:
        print(
            f"  week of {week['week_start']}: {week['accuracy'] * 100:5.1f} % routed right "
            f"({week['answers'] - week['corrected']}/{week['answers']} answers with feedback)"
        )
    return 0


async def run_export(args: argparse.Namespace, app: App) -> int:
    """Write the corrections as ``intent<TAB>query`` lines."""
    lines = [f"{ex.intent}\t{ex.text}" for ex in app.brain.routing_feedback.corrections()]
    text = "".join(line + "\n" for line in lines)
    if args.file:
        await asyncio.to_thread(Path(args.file).write_text, text, encoding="utf-8")
        print(f"wrote {len(lines)} corrections to {args.file}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


async def run_reset(args: argparse.Namespace, app: App) -> int:
    """Forget all feedback and go back to the shipped classifier."""
    removed = await app.brain.reset_routing_feedback(actor="cli")
    print(f"forgot {removed} feedback entries; routing uses the built-in examples again")
    return 0
