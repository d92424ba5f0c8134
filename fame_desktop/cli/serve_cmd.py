"""``fame serve [--host H] [--port P]``: the REST API over this process's Brain."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TYPE_CHECKING, Any

from fame_desktop.cli.commands import help_of
from fame_desktop.cli.output import fail

if TYPE_CHECKING:
    from fame_desktop.app import App


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from exc
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, not {port}")
    return port


def register(sub: Any) -> None:
    """Add the ``serve`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser("serve", help=help_of("serve"))
    p.add_argument("--host", help="Address to bind (default: api.host, 127.0.0.1). Others need admin.")
    p.add_argument("--port", type=_port, help="Port (default: api.port, 8000; 0 picks a free one).")
    p.set_defaults(func=run)


async def run(args: argparse.Namespace, app: App) -> int:
    """Serve until Ctrl-C or SIGTERM."""
    # FastAPI and uvicorn load only for this subcommand, not for every `fame` start.
    from fame_desktop.api.server import ApiServerHandle, is_loopback, tune_gc_for_serving

    host = args.host or app.settings.settings.api.host
    if not is_loopback(host) and not app.safety.is_admin(app.admin_key, f"serving the API on {host}", "cli"):
        return fail(
            f"Refusing to serve the API on {host}: other machines could reach it.",
            "Use the default 127.0.0.1, or pass an admin key (--admin-key or FAME_ADMIN_KEY) to expose it.",
        )
    if not is_loopback(host):
        print(
            f"fame: WARNING: the API listens on {host} and is reachable from other machines. "
            "Keep API keys secret and put it behind a firewall or a TLS proxy.",
            file=sys.stderr,
        )
    await app.brain.start_services()
    handle = ApiServerHandle()
    url = await handle.start(app, host=host, port=args.port, actor="cli")
    tune_gc_for_serving()  # this process only serves: its start-up objects live as long as it
    if not len(app.services.keys):
        print(
            "fame: no API keys exist yet, so only /health answers. Create one with `fame admin init`.",
            file=sys.stderr,
        )
    print(f"FAME API on {url}  (docs: {url}/docs, health: {url}/health; Ctrl-C stops)", flush=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, handle.request_stop)
    try:
        await handle.wait()
    finally:
        await handle.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    print("FAME API stopped.", file=sys.stderr)
    return 0
