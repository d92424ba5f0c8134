"""``fame audit [--limit N] [--json] [--verify] [--export FILE] [--kind K] [--text T] [--since T] [--until T]``."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fame_desktop.cli.commands import help_of
from fame_desktop.cli.output import fail
from fame_desktop.orchestrator.audit import WHAT_TO_DO
from fame_desktop.orchestrator.audit_kinds import AuditKind, parse_kind
from fame_desktop.orchestrator.printable import escape_controls, safe_json

if TYPE_CHECKING:
    from fame_desktop.app import App


def _when(value: str) -> float:
    """ISO date/time (local) or a relative ``30m``/``2h``/``7d``, as unix seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if value[-1:] in units and value[:-1].isdigit():
        return time.time() - int(value[:-1]) * units[value[-1]]
    try:
        return dt.datetime.fromisoformat(value).timestamp()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not a time: {value!r} (use 2026-11-24T10:00 or 30m, 2h, 7d)"
        ) from exc


def _kind(value: str) -> AuditKind:
    """An audit kind, refused with the list of kinds when it names none."""
    try:
        return parse_kind(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def register(sub: Any) -> None:
    """Add the ``audit`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser("audit", help=help_of("audit"))
    p.add_argument("--limit", type=int, default=20, help="How many entries (newest first).")
    p.add_argument(
        "--kind", action="append", type=_kind, metavar="KIND", help="Only entries of this kind (repeatable)."
    )
    p.add_argument("--text", help="Only entries containing this text.")
    p.add_argument("--since", type=_when, help="From this time (ISO or 30m/2h/7d ago).")
    p.add_argument("--until", type=_when, help="Up to this time.")
    p.add_argument("--json", action="store_true", help="Print JSON.")
    p.add_argument("--verify", action="store_true", help="Check the hash chain; exit 1 if broken.")
    p.add_argument("--export", metavar="FILE", type=Path, help="Write the matching entries as JSONL.")
    p.set_defaults(func=run)


async def run(args: argparse.Namespace, app: App) -> int:
    """Run the audit subcommand."""
    audit = app.audit
    filters: dict[str, Any] = {
        "kinds": args.kind,
        "text": args.text,
        "since": args.since,
        "until": args.until,
    }
    if args.verify:
        result = await asyncio.to_thread(audit.verify)
        if args.json:
            print(safe_json(result.to_dict()))
        elif result.ok:
            cp = result.checkpoint
            anchor = f" (matches its checkpoint of {cp['count']} entries)" if cp else ""
            print(f"Audit chain OK: {result.checked} entries verified{anchor}.")
        else:
            first = f" at entry {result.first_bad_id}" if result.first_bad_id is not None else ""
            print(f"AUDIT CHAIN BROKEN{first}: {len(result.problems)} problem(s) found.")
            for problem in result.problems:
                print(f"  - {escape_controls(problem)}")
            print(f"What to do: {WHAT_TO_DO}")
        return 0 if result.ok else 1
    if not audit.integrity.ok:
        # Shown before anything else the log says, on stderr so --json output stays parseable.
        print(f"WARNING: the audit log failed its integrity check: "
              f"{escape_controls(audit.integrity.problem or '')}\n  Run `fame audit --verify` for every "
              f"finding. {WHAT_TO_DO}", file=sys.stderr)  # fmt: skip
    if args.export:
        count = await asyncio.to_thread(audit.export_jsonl, args.export, **filters)
        print(f"Exported {count} entries to {args.export}")
        return 0
    if args.limit < 1:
        return fail("--limit must be at least 1")
    entries = audit.query(limit=args.limit, **filters)
    if args.json:
        print(safe_json([_entry_dict(e) for e in entries]))
        return 0
    for e in entries:
        stamp = dt.datetime.fromtimestamp(e.ts).strftime("%Y-%m-%d %H:%M:%S")
        # Stored text may hold escapes, CRs or newlines (written before they were escaped on the
        # way in, or into the file by hand): shown escaped, they cannot redraw or forge a line.
        kind, actor, summary = (escape_controls(v) for v in (e.kind, e.actor or "-", e.summary))
        print(f"#{e.id:<7} {stamp}  {kind:<18} {actor:<14} {summary}")
    return 0


def _entry_dict(entry: Any) -> dict[str, Any]:
    return {
        "id": entry.id,
        "ts": entry.ts,
        "kind": entry.kind,
        "actor": entry.actor,
        "summary": entry.summary,
        "data": entry.data,
        "hash": entry.hash,
    }
