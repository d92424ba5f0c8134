"""``fame sandbox run FILE [--timeout S] [--memory M] [--cpus C] [--network] [--json]`` (also
``fame run FILE|-``, the same command), ``fame sandbox prepare [--json]`` and
``fame sandbox cluster status|init|join-token`` (see :mod:`fame_desktop.cli.cluster_cmd`)."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fame_desktop.cli.commands import help_of
from fame_desktop.cli.output import fail, print_json
from fame_desktop.orchestrator.events import SandboxImageProgress, SandboxOutput

if TYPE_CHECKING:
    from fame_desktop.app import App

_BAR_WIDTH = 30


def register(sub: Any) -> None:
    """Add the ``sandbox`` subcommand and its shortcut ``fame run FILE|-``."""
    short: argparse.ArgumentParser = sub.add_parser("run", help=help_of("run"))
    _run_arguments(short)
    p: argparse.ArgumentParser = sub.add_parser("sandbox", help=help_of("sandbox"))
    actions = p.add_subparsers(dest="sandbox_action", metavar="ACTION", required=True)
    r: argparse.ArgumentParser = actions.add_parser(
        "run",
        help="Run FILE in the hardened sandbox, streaming its output; exits with the program's code.",
    )
    _run_arguments(r)
    prep: argparse.ArgumentParser = actions.add_parser(
        "prepare",
        help="Make the sandbox image ready: pull its base (sandbox.base_image) when missing, with "
        "progress, then build it from resources/sandbox/.",
    )
    prep.add_argument(
        "--json",
        action="store_true",
        help="Print the result as JSON at the end (progress then goes to stderr).",
    )
    prep.set_defaults(func=prepare)
    from fame_desktop.cli import cluster_cmd

    cluster_cmd.register(actions)


def _run_arguments(r: argparse.ArgumentParser) -> None:
    """The arguments of ``fame sandbox run`` and ``fame run`` (one path, one set of options)."""
    r.add_argument("file", metavar="FILE", help="The Python file to run ('-' reads standard input).")
    r.add_argument("--timeout", type=float, metavar="S", help="Wall-clock limit in seconds.")
    r.add_argument("--memory", metavar="M", help="Memory limit, e.g. 256m (swap is the same).")
    r.add_argument("--cpus", type=float, metavar="C", help="CPU cores, e.g. 0.5.")
    r.add_argument(
        "--network", action="store_true", help="Ask for network (only granted if an admin enabled it)."
    )
    r.add_argument(
        "--json",
        action="store_true",
        help="Print the run report as JSON at the end (live output then goes to stderr).",
    )
    r.set_defaults(func=run)


class _ProgressPrinter:
    """Live progress: a bar redrawn in place on a terminal, else a line per whole percent or step."""

    def __init__(self, out: Any) -> None:
        self._out = out
        self._tty = bool(getattr(out, "isatty", lambda: False)())
        self._last: tuple[str, int] = ("", -1)

    def __call__(self, event: SandboxImageProgress) -> None:
        percent = int(event.fraction * 100)
        final = event.stage not in ("pull", "build")
        if (event.stage, percent) == self._last and not final:
            return
        self._last = (event.stage, percent)
        if self._tty:
            filled = round(_BAR_WIDTH * event.fraction)
            bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
            end = "\n" if final else ""
            self._out.write(f"\r\033[K{event.stage:<6}[{bar}] {percent:3d}%  {event.message[:60]}{end}")
        else:
            self._out.write(f"{event.stage:<6}{percent:4d}%  {event.message}\n")
        self._out.flush()


def _read_source(file: str) -> str:
    """The program's source: the file, or standard input for ``-``."""
    return sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")


async def run(args: argparse.Namespace, app: App) -> int:
    """Run the file; the program's exit code, or 2 when the sandbox cannot run it."""
    try:
        code = _read_source(args.file)
    except (OSError, UnicodeDecodeError) as exc:
        return fail(f"cannot read {args.file}: {exc}", "Pass a readable UTF-8 Python file.")
    sandbox = app.sandbox
    if sandbox is None:
        return fail("no sandbox is configured", "Reinstall FAME Desktop.")
    run_id = uuid.uuid4().hex[:12]

    def show(event: SandboxOutput) -> None:
        if event.run_id != run_id:
            return
        out = sys.stderr if args.json or event.stream == "stderr" else sys.stdout
        out.write(event.text)
        out.flush()

    subscription = app.bus.subscribe(SandboxOutput, show)
    try:
        report = await sandbox.run(
            code,
            timeout=args.timeout,
            memory=args.memory,
            cpus=args.cpus,
            network=args.network,
            run_id=run_id,
        )
    finally:
        subscription.cancel()
    if args.json:
        print_json(report.to_dict())
    status = report.status
    if status == "unavailable":
        message, _, fix = report.detail.partition(" Fix: ")
        return fail(f"the sandbox is unavailable: {message}", fix)
    if args.network and not report.limits.network:
        print("fame: the run had no network: an admin has not enabled network access.", file=sys.stderr)
    if report.insecure:
        print("fame: WARNING: ran with the INSECURE local runner (no isolation).", file=sys.stderr)
    if report.backend == "swarm" and not args.json:
        print(f"fame: ran on swarm node {report.node or '?'} ({report.duration_ms:.0f} ms)", file=sys.stderr)
    if status in ("timeout", "oom", "killed") or (status == "error" and report.exit_code is None):
        print(f"fame: {status}: {report.detail or 'the run did not finish'}", file=sys.stderr)
    for stream, truncated in (("stdout", report.stdout_truncated), ("stderr", report.stderr_truncated)):
        if truncated:
            print(f"fame: {stream} was truncated at the output limit.", file=sys.stderr)
    return report.exit_code if report.exit_code is not None else 1


async def prepare(args: argparse.Namespace, app: App) -> int:
    """Prepare the sandbox image; 0 when it is ready, 2 when the engine or base is out of reach."""
    sandbox = app.sandbox
    if sandbox is None:
        return fail("no sandbox is configured", "Reinstall FAME Desktop.")
    result = await sandbox.prepare_image(progress=_ProgressPrinter(sys.stderr if args.json else sys.stdout))
    if args.json:
        print_json(result.to_dict())
    if result.status == "ok":
        return 0
    message, _, fix = result.detail.partition(" Fix: ")
    if result.status == "cancelled":
        return fail(message, code=130)
    return fail(
        f"the sandbox image is not ready: {message}", fix, code=2 if result.status == "unavailable" else 1
    )
