"""The app's side of a plugin host process: start, load, call, time out, kill.

Each user plugin runs in its own ``fame_plugin_api.host`` process (see that module for the
protocol). The process gets a clean environment (no ``FAME_*`` variables, ``HOME`` and the working
directory a fresh empty folder), no path of the app's, no inherited file descriptors and, when the
app runs as root and ``nobody`` can run its Python, the ``nobody`` user. Where Linux Landlock is
available it may read only Python, its packages and a few system files, and write only its own
folder (:mod:`fame_plugin_api.landlock`): the data dir is out of its reach even as the same user. It can ask the app only what
:class:`fame_plugin_api.PluginHost` offers; settings are read-only, status and plugin lists are
answered without paths. A plugin that exits, crashes, hangs or floods the pipe takes only its own
process down: the caller gets a :class:`PluginError`/:class:`PluginTimeout` naming the plugin.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import ctypes
import itertools
import json
import logging
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

import fame_plugin_api
from fame_desktop import PLUGIN_HOST_FLAG
from fame_desktop.orchestrator.errors import FameError, InvalidSetting, PluginError, PluginTimeout
from fame_plugin_api import JSONObject, PluginHost, ServiceUnavailable
from fame_plugin_api.host import MAX_LINE_BYTES, PASSABLE_CODES

log = logging.getLogger("fame.plugins.host")

#: The flag a frozen build's executable takes to run as a plugin host (it is no Python interpreter).
HOST_FLAG = PLUGIN_HOST_FLAG
NOBODY = 65534
# Time for the interpreter itself to start (not counted in the plugin's own load time): generous,
# a busy machine can take seconds.
START_TIMEOUT = 30.0
_STDERR_TAIL = 12
# Keys of status() and list_plugins() a plugin host never sees: they name the app's files.
_PATH_KEYS = frozenset({"data_dir", "path", "pid"})


class PluginRefused(FameError):
    """A refusal passed on by a plugin (``network_disabled``, ...): its code is the plugin's."""

    def __init__(self, code: str, message: str, fix: str = "") -> None:
        super().__init__(message, fix)
        self.code = code if code in PASSABLE_CODES else "plugin_error"


class HostDied(PluginError):
    """The plugin's process ended (``os._exit``, a crash, a kill)."""


# What a plugin may read besides Python and its packages: system libraries, TLS certificates, name
# resolution, time zones. Never /proc (other processes' command lines) or /home.
SYSTEM_READ = (
    "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ssl", "/etc/ca-certificates",
    "/etc/pki", "/etc/localtime", "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf",
    "/etc/gai.conf", "/etc/host.conf", "/etc/passwd", "/etc/group", "/etc/mime.types",
    "/dev/urandom", "/dev/random", "/dev/zero",
)  # fmt: skip


def host_command(confinement: JSONObject | None = None) -> list[str]:
    """The command that starts a plugin host: this Python in isolated mode, or the frozen app.

    Args:
        confinement: ``{"read": [...], "write": [...]}``, the file access the host keeps.
    """
    spec = [json.dumps(confinement)] if confinement is not None else []
    if getattr(sys, "frozen", False):
        return [sys.executable, HOST_FLAG, *spec]
    root = str(Path(fame_plugin_api.__file__).resolve().parents[1])
    boot = (
        f"import sys; sys.path.insert(0, {root!r}); from fame_plugin_api.host import main; sys.exit(main())"
    )
    return [sys.executable, "-I", "-c", boot, *spec]


def confinement_for(scratch: str, private: list[Path], *, network: bool = True) -> JSONObject:
    """The access a host keeps: read Python, its packages and :data:`SYSTEM_READ`; write ``scratch``;
    TCP only while the ``network`` switch is on.

    A readable folder that holds one of the ``private`` paths (the data dir) is left out, so no
    layout (a venv around the data dir, say) can open the data dir to plugins.
    """
    candidates = [
        sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix,
        str(Path(sys.executable).resolve().parent), getattr(sys, "_MEIPASS", ""),
        *site.getsitepackages(), str(Path(fame_plugin_api.__file__).resolve().parent), *SYSTEM_READ,
    ]  # fmt: skip
    read: list[str] = []
    for entry in dict.fromkeys(c for c in candidates if c):
        path = Path(entry).resolve()
        if any(p.resolve() == path or p.resolve().is_relative_to(path) for p in private):
            log.warning("plugins may not read %s: it holds FAME's data dir", path)
            continue
        read.append(str(path))
    return {"read": read, "write": [scratch, os.devnull], "network": network}


def _run_as_nobody() -> bool:
    """Whether hosts run as ``nobody``: when the app runs as root and ``nobody`` can run Python.

    A root app whose interpreter sits in a private folder (``/root/...``) cannot hand its plugins
    to ``nobody``; they then run as root, which the log says once.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    needed = [Path(sys.executable).resolve(), Path(fame_plugin_api.__file__).resolve()]
    if all(_others_can_read(p) for p in needed):
        return True
    global _warned_root
    if not _warned_root:
        _warned_root = True
        log.info("FAME runs as root and user nobody cannot run its Python: plugin hosts run as root")
    return False


def _others_can_read(path: Path) -> bool:
    try:
        if not path.stat().st_mode & 0o004:
            return False
        return all(parent.stat().st_mode & 0o001 for parent in path.parents)
    except OSError:
        return False


_warned_root = False
_protected = False


def _protect_app_process() -> None:
    """Make the app non-dumpable (Linux), as ssh-agent does.

    A plugin host of the same user could otherwise read the app's ``/proc/<pid>/environ`` (where
    ``FAME_ADMIN_KEY`` may be) or its memory. Done once, when the first host starts.
    """
    global _protected
    if _protected or not sys.platform.startswith("linux"):
        return
    _protected = True
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0


def _without_paths(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_paths(v) for k, v in value.items() if k not in _PATH_KEYS}
    if isinstance(value, list):
        return [_without_paths(v) for v in value]
    return value


class PluginProcess:
    """One user plugin's host process.

    Args:
        name: The plugin's name (every error message starts with it).
        context: The app's context for this plugin (a ``PluginContext``): what the host's requests
            are answered from.
    """

    def __init__(self, name: str, context: PluginHost, *, private: list[Path] | None = None) -> None:
        self.name = name
        self._context = context
        self._private = list(private or [])
        #: What confines the host's file access (``landlock v4``, or ``none: why``), once it started.
        self.confinement: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._home: str | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, concurrent.futures.Future[Any]] = {}
        self._write_lock = threading.Lock()
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dead_reason: str | None = None
        self._ready = threading.Event()

    # --- life cycle ------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """Whether the process runs."""
        return self._proc is not None and self._proc.poll() is None and self._dead_reason is None

    @property
    def pid(self) -> int | None:
        """The host's process id (tests, diagnostics)."""
        return self._proc.pid if self._proc is not None else None

    def start(
        self,
        source: str,
        filename: str,
        timeout: float,
        *,
        modules: dict[str, str] | None = None,
    ) -> None:
        """Start the process and load the plugin from ``source`` (blocking, up to ``timeout``).

        ``modules`` are a package plugin's other modules (relative path -> source); the host
        imports them from these sources, never from the plugin folder.

        Raises:
            PluginError: The plugin failed to load, exited or did not finish in time (the process
                is then killed).
        """
        _protect_app_process()
        self.kill()
        self._dead_reason = None
        self._ready = threading.Event()
        self._stderr.clear()
        self._home = tempfile.mkdtemp(prefix=f"fame-plugin-{self.name}-")
        as_nobody = _run_as_nobody()
        if as_nobody:
            os.chown(self._home, NOBODY, NOBODY)
        env = {
            "PATH": os.defpath,
            "HOME": self._home,
            "TMPDIR": self._home,
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        try:
            self._proc = subprocess.Popen(
                host_command(confinement_for(self._home, self._private, network=self._network_allowed())),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self._home,
                env=env,
                close_fds=True,
                start_new_session=True,
                user=NOBODY if as_nobody else None,
                group=NOBODY if as_nobody else None,
                extra_groups=[] if as_nobody else None,
            )
        except OSError as exc:
            raise PluginError(
                f"Plugin {self.name}: its host process could not start ({exc}).",
                "Check that FAME's Python can run; see the log with `-v`.",
            ) from exc
        proc = self._proc
        assert proc.stdout is not None and proc.stderr is not None
        threading.Thread(
            target=self._read, args=(proc, proc.stdout), name=f"fame-host-{self.name}", daemon=True
        ).start()
        threading.Thread(
            target=self._read_stderr, args=(proc.stderr,), name=f"fame-host-err-{self.name}", daemon=True
        ).start()
        if not self._ready.wait(START_TIMEOUT) or not self.alive:
            why = self._death() if self._proc is not None else "it did not start"
            self.kill()
            raise PluginError(f"{filename}: its host process did not start ({why}).", self._fix())
        args = {"name": self.name, "filename": filename, "source": source, "modules": modules or {}}
        future = self._request("load", args)
        try:
            future.result(timeout=timeout)
        except concurrent.futures.TimeoutError as exc:
            self.kill()
            raise PluginError(
                f"{filename}: import or init() did not finish in {timeout:g} s; its process was stopped.",
                self._fix(),
            ) from exc
        except FameError as exc:
            self.kill()
            raise PluginError(f"{filename}: failed to load: {exc.message}", exc.fix or self._fix()) from exc

    def _network_allowed(self) -> bool:
        try:
            return bool(self._context.network_allowed)
        except FameError:
            return False

    def kill(self) -> None:
        """Stop the process and everything it started (its whole session), and forget it."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                with contextlib.suppress(OSError):
                    if stream is not None:
                        stream.close()
        self._fail_pending("its process was stopped")
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

    def _fix(self) -> str:
        return (
            f"Fix the plugin, or disable it (`fame plugins --disable {self.name}` or the Plugins pane) "
            "or remove its file from the plugin folder."
        )

    # --- calling ---------------------------------------------------------------------------------

    async def call(self, request: JSONObject, time_limit: float) -> Any:
        """The plugin's ``handle(request)`` result (JSON), within ``time_limit`` seconds.

        Raises:
            PluginTimeout: No answer in time; the process is killed (the next call restarts it).
            PluginError: It raised, or its process died.
            PluginRefused: It passed on a refusal (network off, ...).
        """
        self._loop = asyncio.get_running_loop()
        future = self._request("handle", {"request": request})
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), time_limit)
        except TimeoutError as exc:
            self.kill()
            raise PluginTimeout(
                f"Plugin {self.name} did not answer within {time_limit:g} s; its process was stopped "
                "(it restarts on the next question).",
                self._fix(),
            ) from exc

    # --- the protocol ----------------------------------------------------------------------------

    def _send(self, message: JSONObject) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise HostDied(f"Plugin {self.name} is not running.", self._fix())
        line = json.dumps(message, allow_nan=False, separators=(",", ":"), default=str).encode() + b"\n"
        try:
            with self._write_lock:
                proc.stdin.write(line)
                proc.stdin.flush()
        except (OSError, ValueError) as exc:
            raise HostDied(f"Plugin {self.name} is not running ({self._death()}).", self._fix()) from exc

    def _request(self, op: str, args: JSONObject) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        ident = next(self._ids)
        self._pending[ident] = future
        try:
            self._send({"kind": "request", "id": ident, "op": op, "args": args})
        except FameError as exc:
            self._pending.pop(ident, None)
            future.set_exception(exc)
        return future

    def _read(self, proc: subprocess.Popen[bytes], out: IO[bytes]) -> None:
        try:
            while True:
                line = out.readline(MAX_LINE_BYTES)
                if not line:
                    break
                if not line.endswith(b"\n"):
                    self._dead_reason = f"it sent a message over {MAX_LINE_BYTES} bytes"
                    break
                try:
                    message = json.loads(line)
                except ValueError:
                    self._dead_reason = "it broke the protocol"
                    break
                if isinstance(message, dict):
                    self._dispatch(message)
        except (OSError, ValueError):
            pass
        if self._proc is proc:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)
            if self._dead_reason is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            self._fail_pending(self._death(proc))
        self._ready.set()  # wake a start() still waiting: the process is gone

    def _read_stderr(self, err: IO[bytes]) -> None:
        plugin_log = logging.getLogger(f"fame.plugin.{self.name}")
        with contextlib.suppress(OSError, ValueError):
            for raw in iter(lambda: err.readline(4096), b""):
                text = raw.decode("utf-8", "replace").rstrip()
                self._stderr.append(text[:300])
                plugin_log.debug("stderr: %s", text[:300])

    def _death(self, proc: subprocess.Popen[bytes] | None = None) -> str:
        proc = proc or self._proc
        if self._dead_reason:
            return self._dead_reason
        code = proc.poll() if proc is not None else None
        why = f"its process exited with code {code}" if code is not None else "its process ended"
        tail = [line for line in self._stderr if line.strip()][-3:]
        return why + (f"; last output: {' | '.join(tail)[:400]}" if tail else "")

    def _fail_pending(self, why: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(HostDied(f"Plugin {self.name} crashed: {why}.", self._fix()))

    def _dispatch(self, message: JSONObject) -> None:
        kind = message.get("kind")
        if kind == "reply":
            future = self._pending.pop(int(message.get("id") or 0), None)
            if future is None or future.done():
                return
            error = message.get("error")
            if isinstance(error, dict):
                if error.get("type") == "refusal":
                    future.set_exception(
                        PluginRefused(
                            str(error.get("code", "plugin_error")),
                            str(error.get("message", ""))[:2000],
                            str(error.get("fix", ""))[:500],
                        )
                    )
                else:
                    future.set_exception(PluginError(str(error.get("message", "failed"))[:2000]))
            else:
                future.set_result(message.get("result"))
        elif kind == "notify":
            self._notify(str(message.get("op")), message.get("args"))
        elif kind == "request":
            loop = self._loop
            if loop is not None and not loop.is_closed():
                asyncio.run_coroutine_threadsafe(self._answer(message), loop)
            else:
                self._answer_sync(message)

    def _notify(self, op: str, args: object) -> None:
        if not isinstance(args, dict):
            return
        if op == "ready":
            self.confinement = str(args.get("confinement", "none"))[:200]
            self._ready.set()
        elif op == "log":
            level = args.get("level")
            logging.getLogger(f"fame.plugin.{self.name}").log(
                level if isinstance(level, int) and 0 < level <= 50 else logging.INFO,
                "%s",
                str(args.get("message", ""))[:4000],
            )
        elif op == "progress":
            fraction = args.get("fraction")
            self._context.progress(
                str(args.get("query_id", "")),
                str(args.get("message", ""))[:500],
                float(fraction) if isinstance(fraction, int | float) else None,
            )

    def _answer_sync(self, message: JSONObject) -> None:
        ident = message.get("id")
        try:
            result = self._quick(str(message.get("op")), message.get("args"))
            reply: JSONObject = {"kind": "reply", "id": ident, "result": result}
        except Exception as exc:
            reply = {"kind": "reply", "id": ident, "error": _error_reply(exc)}
        with contextlib.suppress(FameError):
            self._send(reply)

    async def _answer(self, message: JSONObject) -> None:
        ident = message.get("id")
        op, args = str(message.get("op")), message.get("args")
        if not isinstance(args, dict):
            args = {}
        ctx = self._context
        try:
            if op == "generate_code":
                result: Any = await ctx.generate_code(
                    str(args.get("text", "")), query_id=_opt_str(args, "query_id")
                )
            elif op == "design_architecture":
                result = await ctx.design_architecture(
                    str(args.get("text", "")), query_id=_opt_str(args, "query_id")
                )
            elif op == "run_in_sandbox":
                timeout = args.get("timeout")
                result = await ctx.run_in_sandbox(
                    str(args.get("code", "")),
                    timeout=float(timeout) if isinstance(timeout, int | float) else None,
                    query_id=_opt_str(args, "query_id"),
                )
            elif op == "run_evolution":
                request = args.get("request")
                result = await ctx.run_evolution(dict(request) if isinstance(request, dict) else {})
            elif op == "chat_with_model":
                messages = args.get("messages")
                tokens, temperature = args.get("max_tokens"), args.get("temperature")
                result = await ctx.chat_with_model(
                    [dict(m) for m in messages if isinstance(m, dict)] if isinstance(messages, list) else [],
                    query_id=_opt_str(args, "query_id"),
                    max_tokens=tokens if isinstance(tokens, int) and tokens > 0 else None,
                    temperature=float(temperature) if isinstance(temperature, int | float) else 0.7,
                )
            else:
                result = self._quick(op, args)
            reply: JSONObject = {"kind": "reply", "id": ident, "result": result}
        except Exception as exc:
            reply = {"kind": "reply", "id": ident, "error": _error_reply(exc)}
        with contextlib.suppress(FameError):
            self._send(reply)

    def _quick(self, op: str, args: object) -> Any:
        """The requests answered at once, even while the plugin loads."""
        ctx = self._context
        if op == "setting":
            path = args.get("path") if isinstance(args, dict) else None
            if not isinstance(path, str):
                raise InvalidSetting(str(path), "no such setting")
            value = ctx.setting(path)
            return value.model_dump(mode="json") if hasattr(value, "model_dump") else value
        if op == "list_plugins":
            return _without_paths(ctx.list_plugins())
        if op == "status":
            return _without_paths(ctx.status())
        if op in {
            "generate_code",
            "design_architecture",
            "run_in_sandbox",
            "run_evolution",
            "chat_with_model",
        }:
            raise ServiceUnavailable(f"{op} is not available while the plugin loads.")
        raise PluginError(f"unknown request {op!r}")


def _opt_str(args: dict[str, Any], key: str) -> str | None:
    value = args.get(key)
    return value if isinstance(value, str) and value else None


def _error_reply(exc: Exception) -> JSONObject:
    if isinstance(exc, ServiceUnavailable):
        return {"code": "service_unavailable", "message": str(exc)}
    if isinstance(exc, FameError):
        return {"code": exc.code, "message": exc.message, "fix": exc.fix}
    log.warning("a plugin host request failed: %s", type(exc).__name__)
    return {"code": "plugin_error", "message": f"{type(exc).__name__}: {exc}"[:500]}
