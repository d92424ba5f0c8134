"""Run ``fame`` commands from the tests: each one a real process of its own, started cheaply.

A ``fame`` process spends most of its ~0.7 s importing the app, and the CLI tests start hundreds of
them. So ``run_fame`` asks a fork server (one per test process) that has imported
``fame_desktop.cli`` and the app once: for each command it forks a fresh child, which takes the
command's environment, working dir and standard streams and runs ``fame_desktop.cli.main`` (what the
``fame`` console script runs) then exits the way the interpreter does (atexit handlers, flushed
streams, the exit code ``sys.exit`` gives). The command still runs in its own process: nothing it
changes reaches the test or the next command, and its exit code, stdout and stderr are its own.

What a fork cannot show is start-up itself: tests about which modules a command imports, or about the
console script, start ``FAME`` directly. ``FAME_TEST_CLI=process`` (set by the full
``scripts/test.sh`` run) makes ``run_fame`` start ``FAME`` for every command; so does an environment
that would start the interpreter differently (``PYTHON*`` or locale variables that differ from the
server's).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

FAME = str(Path(sys.executable).with_name("fame"))

# The fork server: reads one JSON request a line on fd REQ, answers on fd REP with the child's pid, then
# its exit code. It imports every subcommand's module and the app before the first fork.
_SERVER = r"""
import atexit, json, os, sys, threading, traceback
sys.path[0] = os.path.dirname(sys.argv[1])  # as for the console script: its own dir first
req = os.fdopen(int(sys.argv[2]), "r")
rep = os.fdopen(int(sys.argv[3]), "w")
from fame_desktop.cli import build_parser, main
import fame_desktop.app, asyncio
build_parser()
assert threading.active_count() == 1, "the fork server must have no threads before it forks"


def exit_code(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def child(r):
    req.close()
    rep.close()
    os.setpgid(0, 0)  # its own process group: a timeout kills it and whatever it started
    for fd, path, flags in ((0, r["stdin"], os.O_RDONLY), (1, r["stdout"], os.O_WRONLY), (2, r["stderr"], os.O_WRONLY)):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    os.chdir(r["cwd"])
    os.environ.clear()
    os.environ.update(r["env"])
    sys.argv = [sys.argv[1], *r["argv"]]
    try:
        code = exit_code(main(r["argv"]))
    except SystemExit as exc:
        code = exit_code(exc.code)
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        threading._shutdown()  # wait for non-daemon threads, as the interpreter does at exit
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code & 0xFF)


for line in req:
    r = json.loads(line)
    pid = os.fork()
    if pid == 0:
        child(r)
    rep.write(json.dumps({"pid": pid}) + "\n")
    rep.flush()
    _, status = os.waitpid(pid, 0)
    rep.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")
    rep.flush()
"""

# Variables read as the interpreter starts (or that set its text encoding): a command given other
# values than the server's would not start as the server did, so it gets a real process.
_STARTUP_VARS = ("PYTHON", "LANG", "LC_ALL", "LC_CTYPE")


class _ForkServer:
    """One fork server process and the pipes to it."""

    def __init__(self) -> None:
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        self.env = dict(os.environ)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER, FAME, str(req_r), str(rep_w)],
            pass_fds=(req_r, rep_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=self.env,
        )
        os.close(req_r)
        os.close(rep_w)
        self.req = os.fdopen(req_w, "w")
        self.rep = rep_r  # read unbuffered (os.read): a buffered reader could hold a reply select misses
        self.pending = b""
        self.lock = threading.Lock()

    def starts_like(self, env: Mapping[str, str]) -> bool:
        """Whether an interpreter started with ``env`` would start as the server's did."""

        def startup(e: Mapping[str, str]) -> dict[str, str]:
            return {k: v for k, v in e.items() if k.startswith(_STARTUP_VARS)}

        return startup(env) == startup(self.env)

    def _reply(self, timeout: float | None) -> dict[str, int] | None:
        """The server's next answer, or None when none came within ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.rep], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.rep, 4096)
            if not chunk:
                raise RuntimeError(f"the fame fork server exited ({self.proc.wait()})")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        reply: dict[str, int] = json.loads(line)
        return reply

    def run(
        self, argv: list[str], env: dict[str, str], stdin: str, cwd: str, timeout: float
    ) -> tuple[int, str, str]:
        with tempfile.TemporaryDirectory(prefix="fame-cli-") as tmp:
            out, err, inp = (os.path.join(tmp, n) for n in ("out", "err", "in"))
            for path, text in ((out, ""), (err, ""), (inp, stdin)):
                Path(path).write_text(text, encoding="utf-8")
            request = {"argv": argv, "env": env, "cwd": cwd, "stdin": inp, "stdout": out, "stderr": err}
            with self.lock:
                self.req.write(json.dumps(request) + "\n")
                self.req.flush()
                started = self._reply(60)
                if started is None:
                    raise RuntimeError("the fame fork server did not answer")
                done = self._reply(timeout)
                if done is None:
                    os.killpg(started["pid"], signal.SIGKILL)
                    self._reply(None)
                    raise subprocess.TimeoutExpired([FAME, *argv], timeout, _read(out), _read(err))
            return done["code"], _read(out), _read(err)

    def close(self) -> None:
        self.req.close()
        self.proc.wait(timeout=30)
        os.close(self.rep)


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8", errors="replace")


_server: _ForkServer | None = None


def _fork_server() -> _ForkServer:
    global _server
    if _server is None or _server.proc.poll() is not None:
        _server = _ForkServer()
        atexit.register(_server.close)
    return _server


def run_fame(
    *args: str,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    cwd: str | Path | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """Run ``fame ARGS...`` to completion in a process of its own; like ``subprocess.run`` with
    ``capture_output=True, text=True`` (``input`` is its stdin, else an empty one).

    Raises:
        subprocess.TimeoutExpired: The command ran longer than ``timeout`` seconds (it is killed).
    """
    environ = dict(os.environ if env is None else env)
    where = str(cwd if cwd is not None else os.getcwd())
    if os.environ.get("FAME_TEST_CLI") == "process" or not _fork_server().starts_like(environ):
        return subprocess.run(
            [FAME, *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=environ,
            cwd=where,
            timeout=timeout,
            check=False,
        )
    code, out, err = _fork_server().run(list(args), environ, input or "", where, timeout)
    return subprocess.CompletedProcess([FAME, *args], code, out, err)
