"""The ``fame`` command: the window by default, and subcommands over the same Brain."""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from fame_desktop import PLUGIN_HOST_FLAG, __version__
from fame_desktop.cli.commands import COMMANDS
from fame_desktop.orchestrator.errors import FameError

if TYPE_CHECKING:
    from asyncio import AbstractEventLoop

    from fame_desktop.app import App


@functools.cache
def _global_options(*, suppress: bool) -> argparse.ArgumentParser:
    """The options every level of ``fame`` accepts, as a parent parser.

    The top level has real defaults; each subcommand has ``argparse.SUPPRESS`` (``suppress``), so an
    option given after the subcommand wins and one given before it is not overwritten by a default.
    Made once per process: a parent is only read (its actions are copied into each child).
    """
    default: object = argparse.SUPPRESS if suppress else None
    opts = argparse.ArgumentParser(add_help=False)
    opts.add_argument(
        "--data-dir",
        default=default,
        help="Where settings, audit log and state live (default: $FAME_HOME or the platform data dir).",
    )
    opts.add_argument(
        "--admin-key", default=default, help="Admin key for dangerous operations (default: $FAME_ADMIN_KEY)."
    )
    opts.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="Log what happens to stderr.",
    )
    return opts


class _SubcommandParser(argparse.ArgumentParser):
    """A subcommand's parser: it also accepts the global options (nested actions inherit the class).

    A stub (``stub=True``: a command named but not declared, see :func:`build_parser`) takes the
    rest of the line as it is, global options included, so it needs no copy of them.
    """

    def __init__(self, *, stub: bool = False, **kwargs: Any) -> None:
        if not stub:
            kwargs["parents"] = [*kwargs.get("parents", []), _global_options(suppress=True)]
        super().__init__(**kwargs)


def build_parser(command: str | None = None, *, stubs: bool = False) -> argparse.ArgumentParser:
    """The argument parser of ``fame``.

    Global options are accepted before or after the subcommand (``fame admin network on --admin-key
    KEY``), as every fix hint the app prints writes them.

    Args:
        command: Declare only this subcommand's arguments (its module, which may declare a few
            commands, is the only one imported); the others are listed by name. None: all of them.
        stubs: Declare no subcommand's arguments: each takes whatever follows it. Enough to print
            ``fame --help`` and to find which command a command line names, importing no module.
    """
    parser = argparse.ArgumentParser(
        prog="fame",
        description="FAME Desktop: ask, generate and test code in a sandbox, audit everything.",
        parents=[_global_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"fame {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="Open the window offscreen, answer one query end to end, exit 0 on success.",
    )
    # add_subparsers defaults parser_class to type(self), so actions under a subcommand
    # (``admin network``) are _SubcommandParser too and take the global options as well.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_SubcommandParser)
    wanted = next((c.module for c in COMMANDS if c.name == command), None)
    registered: set[str] = set()
    for declared in COMMANDS:
        if stubs or (command is not None and declared.module != wanted):
            stub = sub.add_parser(declared.name, help=declared.help, add_help=False, stub=True)
            stub.add_argument("rest", nargs=argparse.REMAINDER)
        elif declared.module not in registered:  # a module may declare several (run, sandbox)
            registered.add(declared.module)
            importlib.import_module(declared.module).register(sub)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse a ``fame`` command line, importing only the named subcommand's module.

    Raises:
        SystemExit: ``--help``, ``--version`` or a usage error (argparse prints why).
    """
    found, _rest = build_parser(stubs=True).parse_known_args(argv)
    if found.command is None:
        return build_parser(stubs=True).parse_args(argv)
    return build_parser(found.command).parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fame`` console script."""
    if list(argv if argv is not None else sys.argv[1:])[:1] == [PLUGIN_HOST_FLAG]:
        # A frozen build's executable is no Python interpreter: it runs user plugin hosts itself.
        from fame_plugin_api import host as plugin_host  # only a plugin host process needs it

        return plugin_host.main()
    args = parse_args(argv)
    # Imported once the line parsed: `fame --help`, `--version` and usage errors log nothing.
    import logging

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.command is None:
        # Imported only to open the window: the subcommands never load Qt.
        from fame_desktop.ui.launch import run_window

        return run_window(data_dir=args.data_dir, admin_key=args.admin_key, self_test=args.self_test)
    # Loaded with the command to run: `fame --help` and usage errors answer without the event
    # loop's machinery (asyncio is ~70 ms of imports, most of what the parser alone costs).
    import asyncio

    try:
        with asyncio.Runner(loop_factory=_loop_factory(args.command)) as runner:
            return runner.run(_run(args))
    except FameError as exc:
        print(f"fame: {exc.message}" + (f"\n  fix: {exc.fix}" if exc.fix else ""), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fame: interrupted", file=sys.stderr)
        return 130


def _loop_factory(command: str) -> Callable[[], AbstractEventLoop] | None:
    """uvloop for ``fame serve`` when installed (the server spends a tenth less CPU per request
    on it); the standard loop otherwise, and for every other command (nothing to gain there)."""
    if command != "serve":
        return None
    try:
        import uvloop
    except ImportError:  # an optional speed-up: a build without it serves on asyncio's loop
        return None
    return uvloop.new_event_loop


async def _run(args: argparse.Namespace) -> int:
    # The app (the whole domain) loads only once a command runs: `fame --help`, `--version` and
    # argument errors answer without it.
    from fame_desktop.app import build_app

    app = build_app(args.data_dir, args.admin_key or os.environ.get("FAME_ADMIN_KEY"))
    try:
        return await run_command(args, app)
    finally:
        await app.aclose()


async def run_command(args: argparse.Namespace, app: App) -> int:
    """Run the parsed subcommand ``args`` over ``app``; its exit code."""
    result = args.func(args, app)
    if isinstance(result, Awaitable):
        result = await result
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
