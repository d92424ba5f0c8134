"""``fame evolve --task TEXT [--population N] [--generations G] [--json]`` and its actions.

``fame evolve history``, ``fame evolve show RUN_ID`` (with the diff an approval would make),
``fame evolve approve RUN_ID`` (admin) and
``fame evolve rollback RECIPE_ID`` (admin). Progress is printed on stderr as it happens, so
``--json`` output on stdout stays one clean document.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fame_desktop.cli.commands import help_of
from fame_desktop.cli.output import fail, print_json
from fame_desktop.orchestrator.events import EvolutionProgress
from fame_desktop.orchestrator.evolution.describe import fitness_text
from fame_desktop.orchestrator.evolution.review import Review

if TYPE_CHECKING:
    from fame_desktop.app import App


def register(sub: Any) -> None:
    """Add the ``evolve`` subcommand and its actions."""
    p: argparse.ArgumentParser = sub.add_parser("evolve", help=help_of("evolve"))
    p.add_argument("--task", help="What to evolve, e.g. 'string reversal' or a recipe id.")
    p.add_argument("--population", type=int, default=8, help="Candidates per generation (2-50).")
    p.add_argument("--generations", type=int, default=2, help="Generations (1-20).")
    p.add_argument("--json", action="store_true", help="Print the run record (or listing) as JSON.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    # SUPPRESS: a sub-action's own default must not reset a --json given before the action.
    hist = actions.add_parser("history", help="Runs, newest first, and promoted versions.")
    hist.add_argument("--limit", type=int, default=20)
    hist.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    show = actions.add_parser("show", help="One run with its candidates.")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    approve = actions.add_parser("approve", help="Promote a run's winner (admin key).")
    approve.add_argument("run_id")
    approve.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    rollback = actions.add_parser("rollback", help="Step a task back to its previous version (admin key).")
    rollback.add_argument("recipe_id")
    rollback.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _progress(event: EvolutionProgress) -> None:
    stage = event.data.get("stage", "")
    count = f"[{event.data.get('evaluated')}/{event.data.get('total')}] " if stage == "candidate" else ""
    best = f"  (best {event.best_fitness:.3f})" if event.best_fitness is not None else ""
    print(f"gen {event.generation} {count}{event.message}{best}", file=sys.stderr, flush=True)


def _emit(as_json: bool, value: dict[str, Any], text: Callable[[dict[str, Any]], None]) -> None:
    if as_json:
        print_json(value)
    else:
        text(value)


def _print_run(run: dict[str, Any]) -> None:
    print(f"Run {run['id']}: {run.get('title') or run['task']} — {run['status']}")
    print(f"  {run.get('message', '')}")
    original = (run.get("original") or {}).get("fitness") or {}
    winner = run.get("winner") or {}
    if original and winner:
        fit = winner.get("fitness", {})
        print(
            f"  original: {original.get('bench_ns')} ns, size {original.get('size')}; "
            f"winner {winner.get('id')} ({winner.get('origin')}): {fit.get('bench_ns')} ns, size {fit.get('size')}"
        )


def _print_review(review: Review) -> None:
    """What approving would change: the diff against the version answering today, both fitnesses."""
    print(f"\nAgainst {review.current_label}: {fitness_text(review.current_fitness)}")
    print(f"Winner: {fitness_text(review.winner_fitness)} ({review.improvement})\n")
    print(review.diff.rstrip() or "(the same program)")
    print(f"\nIt will describe itself as: {review.description}")
    print(f"Approve: fame evolve approve {review.run_id} --admin-key KEY")


async def run(args: argparse.Namespace, app: App) -> int:
    """Run, list, approve or roll back."""
    runner = app.services.evolution
    key, actor = app.admin_key, "cli"
    if args.action == "history":
        runs, promotions = runner.history(args.limit), runner.promotions()
        if args.json:
            print_json({"runs": runs, "promotions": promotions})
            return 0
        for r in runs:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["started_at"] or 0))
            version = f" promoted v{r['promoted_version']}" if r.get("promoted_version") else ""
            print(
                f"{r['id']}  {when}  {r['recipe_id'] or '-':<20} {r['status']:<9} {r['improvement'] or ''}{version}"
            )
        for t in promotions:
            print(
                f"{t['recipe_id']}: active {('v' + str(t['active'])) if t['active'] else 'library original'}"
            )
        return 0
    if args.action == "show":
        run = runner.store.run(args.run_id)
        _emit(args.json, run, _print_run)
        approvable = (run.get("improvement") or {}).get("better") and not run.get("promoted_version")
        if approvable and not args.json:
            _print_review(runner.review(args.run_id))
        return 0
    if args.action == "approve":
        promoted = runner.approve(args.run_id, key=key, actor=actor)
        out = {
            "recipe_id": promoted.recipe_id,
            "version": promoted.version,
            "run_id": promoted.run_id,
            "description": promoted.description,
        }
        _emit(
            args.json, out, lambda o: print(f"{o['recipe_id']} is now v{o['version']} (from {o['run_id']}).")
        )
        return 0
    if args.action == "rollback":
        retired, now = runner.rollback(args.recipe_id, key=key, actor=actor)
        active = f"v{now}" if now is not None else "the library original"
        out = {"recipe_id": args.recipe_id, "retired": retired, "active": now}
        _emit(args.json, out, lambda o: print(f"{o['recipe_id']}: v{o['retired']} retired; now {active}."))
        return 0
    if not args.task:
        return fail(
            "Say what to evolve.", "fame evolve --task 'string reversal' (see `fame evolve history`)."
        )
    await app.brain.start_services()  # binds the bus to this loop and warms the sandbox pool
    sub = app.bus.subscribe(EvolutionProgress, _progress)
    try:
        record = await runner.run(
            args.task, population=args.population, generations=args.generations, actor=actor
        )
    finally:
        sub.cancel()
    _emit(args.json, record.to_dict(), _print_run)
    return {"finished": 0, "no_match": 2}.get(record.status, 1)
