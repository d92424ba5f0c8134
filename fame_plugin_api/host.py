"""The plugin host: one user plugin running in its own process, talking to the app over JSON lines.

The app starts ``python -I -c ...main()`` per user plugin with a clean environment, no paths of its
own and (when the app runs as root) as user ``nobody``. The app's messages arrive on stdin, ours go
to stdout; the plugin's own ``print`` goes to stderr (fd 1 is pointed there before any plugin code
runs), so it cannot forge protocol lines.

Every message is one JSON object on one line::

    {"kind": "request", "id": 7, "op": "handle", "args": {...}}
    {"kind": "reply", "id": 7, "result": {...}}        or  {"kind": "reply", "id": 7, "error": {...}}
    {"kind": "notify", "op": "log", "args": {...}}

The app asks ``load`` (the approved source, its file name and the plugin's name) and ``handle``
(a request). The host may ask the app only the :class:`~fame_plugin_api.PluginHost` members:
``setting``, ``list_plugins``, ``status`` and the five tasks, and may notify ``log`` and
``progress``. Nothing else of the app is reachable from here: no settings writes, no audit log, no
admin keys, no data dir. This module imports only the standard library and ``fame_plugin_api``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import importlib.abc
import importlib.util
import inspect
import itertools
import json
import logging
import os
import resource
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, BinaryIO

from fame_plugin_api.context import JSONObject, PluginHost, ServiceUnavailable
from fame_plugin_api.landlock import confine

if TYPE_CHECKING:
    import httpx

#: Longest protocol line either side accepts (a larger one is a protocol error).
MAX_LINE_BYTES = 8 << 20
#: Error codes a plugin may pass on to the person asking (anything else becomes ``plugin_error``).
PASSABLE_CODES = frozenset(
    {"network_disabled", "capability_disabled", "admin_required", "timeout", "not_available", "plugin_error"}
)


class HostRefusal(Exception):
    """The app refused something (network off, capability off, a task's own error).

    A plugin lets it propagate; the app answers the query with ``code`` and ``message``.
    """

    def __init__(self, code: str, message: str, fix: str = "") -> None:
        super().__init__(f"{message} {fix}".strip())
        self.code = code if code in PASSABLE_CODES else "plugin_error"
        self.message = message
        self.fix = fix


class _Channel:
    """Both directions of the protocol, from the host's side."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._write_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, concurrent.futures.Future[Any]] = {}

    def send(self, message: JSONObject) -> None:
        line = json.dumps(message, allow_nan=False, separators=(",", ":")).encode() + b"\n"
        with self._write_lock:
            self._out.write(line)
            self._out.flush()

    def request(self, op: str, args: JSONObject) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        ident = next(self._ids)
        self._pending[ident] = future
        self.send({"kind": "request", "id": ident, "op": op, "args": args})
        return future

    def ask(self, op: str, args: JSONObject) -> Any:
        """A request answered synchronously (the app answers these at once)."""
        return self.request(op, args).result()

    async def ask_async(self, op: str, args: JSONObject) -> Any:
        return await asyncio.wrap_future(self.request(op, args))

    def notify(self, op: str, args: JSONObject) -> None:
        self.send({"kind": "notify", "op": op, "args": args})

    def resolve(self, message: JSONObject) -> None:
        future = self._pending.pop(int(message.get("id", 0)), None)
        if future is None:
            return
        error = message.get("error")
        if isinstance(error, dict):
            if error.get("code") == "service_unavailable":
                future.set_exception(ServiceUnavailable(str(error.get("message", ""))))
            else:
                future.set_exception(
                    HostRefusal(
                        str(error.get("code", "plugin_error")),
                        str(error.get("message", "")),
                        str(error.get("fix", "")),
                    )
                )
        else:
            future.set_result(message.get("result"))


class _ProtocolLogHandler(logging.Handler):
    def __init__(self, channel: _Channel) -> None:
        super().__init__()
        self._channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self._channel.notify("log", {"level": record.levelno, "message": self.format(record)[:4000]})


class RemoteHost:
    """The :class:`~fame_plugin_api.PluginHost` a plugin gets in the host process.

    Every member is answered by the app over the protocol; refusals raise :class:`HostRefusal`.
    """

    def __init__(self, name: str, channel: _Channel) -> None:
        self._name = name
        self._channel = channel
        self._log = logging.getLogger(f"fame.plugin.{name}")
        self._log.addHandler(_ProtocolLogHandler(channel))
        self._log.setLevel(logging.INFO)
        self._log.propagate = False

    @property
    def name(self) -> str:
        """The plugin's name."""
        return self._name

    @property
    def log(self) -> logging.Logger:
        """The plugin's logger; records go to the app's log."""
        return self._log

    def setting(self, path: str) -> Any:
        """A setting by dotted path (read-only)."""
        return self._channel.ask("setting", {"path": str(path)})

    @property
    def network_allowed(self) -> bool:
        """Whether the network switch is on."""
        return bool(self.setting("network.allow_network"))

    def require_network(self, what: str = "This request") -> None:
        """Raise a ``network_disabled`` refusal unless the network is on."""
        if not self.network_allowed:
            raise HostRefusal(
                "network_disabled",
                f"{what} needs the network, which is off.",
                "An admin can enable it in Settings (Network) or with "
                "`fame admin network on --admin-key KEY`.",
            )

    def require_capability(self, capability: str) -> None:
        """Raise a ``capability_disabled`` refusal unless an admin enabled ``capability``."""
        if not self.setting(f"capabilities.{capability}"):
            raise HostRefusal(
                "capability_disabled",
                f"The '{capability}' capability is disabled (it is dangerous).",
                f"An admin can enable it with `fame admin set capabilities.{capability} true --admin-key KEY`.",
            )

    def http_client(self, *, base_url: str = "", timeout: float | None = None) -> httpx.AsyncClient:
        """An HTTP client; refused while the network is off."""
        self.require_network()
        import httpx  # only plugins that reach the network pay for it

        return httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout or float(self.setting("services.http_timeout_seconds")),
            follow_redirects=True,
            headers={"User-Agent": "FAME-Desktop/0.1 (+https://github.com/fame-desktop)"},
        )

    def progress(self, query_id: str, message: str, fraction: float | None = None) -> None:
        """Progress of a long answer, shown in the window and the CLI."""
        self._channel.notify(
            "progress", {"query_id": str(query_id), "message": str(message)[:500], "fraction": fraction}
        )

    def list_plugins(self) -> list[JSONObject]:
        """Every plugin's manifest and state."""
        result = self._channel.ask("list_plugins", {})
        return list(result) if isinstance(result, list) else []

    def status(self) -> JSONObject:
        """The app's status overview."""
        result = self._channel.ask("status", {})
        return dict(result) if isinstance(result, dict) else {}

    async def generate_code(self, text: str, *, query_id: str | None = None) -> JSONObject:
        """Tested code for ``text``."""
        result = await self._channel.ask_async("generate_code", {"text": text, "query_id": query_id})
        return dict(result)

    async def design_architecture(self, text: str, *, query_id: str | None = None) -> JSONObject:
        """Architecture advice."""
        args = {"text": text, "query_id": query_id}
        return dict(await self._channel.ask_async("design_architecture", args))

    async def run_in_sandbox(
        self,
        code: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the run's own limit, enforced by the sandbox
        query_id: str | None = None,
    ) -> JSONObject:
        """Run ``code`` in the app's sandbox; the run report."""
        args = {"code": code, "timeout": timeout, "query_id": query_id}
        return dict(await self._channel.ask_async("run_in_sandbox", args))

    async def run_evolution(self, request: JSONObject) -> JSONObject:
        """An evolution cycle."""
        return dict(await self._channel.ask_async("run_evolution", {"request": request}))

    async def chat_with_model(
        self,
        messages: list[JSONObject],
        *,
        query_id: str | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.7,
    ) -> JSONObject:
        """The active language model's answer."""
        args = {
            "messages": messages,
            "query_id": query_id,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        return dict(await self._channel.ask_async("chat_with_model", args))


def _conforms(host: RemoteHost) -> PluginHost:
    """Never called: mypy checks here that the host keeps the whole plugin API."""
    return host


def describe(exc: BaseException) -> str:
    """``Type: message (file:line)`` of the innermost frame, for the plugin's error line."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _error_of(exc: BaseException) -> JSONObject:
    if isinstance(exc, HostRefusal):
        return {"type": "refusal", "code": exc.code, "message": exc.message, "fix": exc.fix}
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code in PASSABLE_CODES and hasattr(exc, "message"):
        # The app's own refusals, when a plugin author raises them by hand.
        return {"type": "refusal", "code": code, "message": str(exc), "fix": ""}
    return {"type": "exception", "message": describe(exc)}


class _SourceFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports a package plugin's modules from the sources the app sent (never from disk)."""

    def __init__(self, package: str, label: str, modules: dict[str, str]) -> None:
        self._package = package
        self._label = label
        self._modules = modules

    def _source_of(self, fullname: str) -> tuple[str, bool] | None:
        if not fullname.startswith(self._package + "."):
            return None
        rel = fullname[len(self._package) + 1 :].replace(".", "/")
        if f"{rel}.py" in self._modules:
            return f"{rel}.py", False
        if f"{rel}/__init__.py" in self._modules:
            return f"{rel}/__init__.py", True
        return None

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        found = self._source_of(fullname)
        if found is None:
            return None
        rel, package = found
        spec = importlib.util.spec_from_loader(
            fullname, self, origin=f"{self._label}/{rel}", is_package=package
        )
        return spec

    def create_module(self, spec: ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        found = self._source_of(module.__name__)
        assert found is not None
        rel, _package = found
        code = compile(self._modules[rel], f"{self._label}/{rel}", "exec", dont_inherit=True)
        exec(code, module.__dict__)


class _Plugin:
    """The loaded plugin and how to call it."""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel
        self.module: ModuleType | None = None

    async def load(self, args: JSONObject) -> JSONObject:
        name, filename, source = str(args["name"]), str(args["filename"]), str(args["source"])
        raw_modules = args.get("modules")
        modules = {str(k): str(v) for k, v in raw_modules.items()} if isinstance(raw_modules, dict) else {}

        def work() -> ModuleType:
            module = ModuleType(f"fame_user_plugin_{name}")
            module.__file__ = filename
            if modules or filename.endswith("/__init__.py"):
                # A package plugin: `from . import helpers` finds the sources the app sent.
                finder = _SourceFinder(module.__name__, filename.rsplit("/", 1)[0], modules)
                sys.meta_path.insert(0, finder)
                module.__path__ = []
                module.__package__ = module.__name__
                module.__spec__ = importlib.util.spec_from_loader(module.__name__, finder, is_package=True)
            sys.modules[module.__name__] = module
            exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)
            return module

        module = await asyncio.to_thread(work)
        handle = getattr(module, "handle", None)
        if not callable(handle):
            raise HostRefusal("plugin_error", f"{Path(filename).name}: has no handle(request) function")
        init = getattr(module, "init", None)
        if callable(init):
            result = init(RemoteHost(name, self._channel))
            if inspect.isawaitable(result):
                await result
        self.module = module
        return {"loaded": True}

    async def handle(self, args: JSONObject) -> Any:
        if self.module is None:
            raise HostRefusal("plugin_error", "the plugin is not loaded")
        handle: Callable[[JSONObject], Any] = self.module.handle
        request = dict(args["request"])
        if inspect.iscoroutinefunction(handle):
            result = await handle(request)
        else:
            result = await asyncio.to_thread(handle, request)
            if inspect.isawaitable(result):
                result = await result
        json.dumps(result, allow_nan=False)  # not JSON: reported as the plugin's error
        return result


async def _serve(channel: _Channel, plugin: _Plugin, message: JSONObject) -> None:
    op, ident = message.get("op"), message.get("id")
    args = message.get("args") if isinstance(message.get("args"), dict) else {}
    assert isinstance(args, dict)
    try:
        if op == "load":
            result = await plugin.load(args)
        elif op == "handle":
            result = await plugin.handle(args)
        elif op == "ping":
            result = {"pong": True}
        else:
            raise HostRefusal("plugin_error", f"unknown operation {op!r}")
        reply: JSONObject = {"kind": "reply", "id": ident, "result": result}
    except BaseException as exc:  # SystemExit and KeyboardInterrupt in plugin code included
        if isinstance(exc, asyncio.CancelledError):
            raise
        reply = {"kind": "reply", "id": ident, "error": _error_of(exc)}
    try:
        channel.send(reply)
    except (TypeError, ValueError) as exc:
        channel.send({"kind": "reply", "id": ident, "error": {"type": "exception", "message": describe(exc)}})


def _harden() -> None:
    """No core dumps; die with the app (Linux)."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: killed when the app dies


def _confinement(argv: list[str]) -> str:
    """Apply the file access the app allows (its last argument, JSON), before any thread starts.

    Landlock confines the calling thread and what it starts later, so this runs first, while the
    main thread is the only one.
    """
    spec: object = None
    if argv and argv[-1].startswith("{"):
        with contextlib.suppress(ValueError):
            spec = json.loads(argv[-1])
    if not isinstance(spec, dict):
        return "none: the app asked for none"
    read, write = spec.get("read"), spec.get("write")
    if not isinstance(read, list) or not isinstance(write, list):
        return "none: the app asked for none"
    return confine([str(p) for p in read], [str(p) for p in write], tcp=spec.get("network") is True)


def main() -> int:
    """Run the host until the app closes stdin."""
    _harden()
    confinement = _confinement(sys.argv[1:])
    # The protocol keeps private copies of fds 0 and 1; the plugin's print() and input() get stderr
    # and /dev/null, so nothing it does can write a protocol line.
    # Both stay open for the life of the process (it ends with os._exit), so no context manager.
    proto_in = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
    proto_out = os.fdopen(os.dup(1), "wb", buffering=1 << 16)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.stdout = sys.stderr
    channel = _Channel(proto_out)
    plugin = _Plugin(channel)
    loop = asyncio.new_event_loop()
    tasks: set[asyncio.Task[None]] = set()

    def start(message: JSONObject) -> None:
        task = loop.create_task(_serve(channel, plugin, message))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def read() -> None:
        while True:
            line = proto_in.readline(MAX_LINE_BYTES)
            if not line or not line.endswith(b"\n"):
                os._exit(0)  # the app closed the pipe (or broke the protocol): nothing to finish
            try:
                message = json.loads(line)
            except ValueError:
                os._exit(3)
            if not isinstance(message, dict):
                os._exit(3)
            if message.get("kind") == "reply":
                channel.resolve(message)
            elif message.get("kind") == "request":
                loop.call_soon_threadsafe(start, message)

    threading.Thread(target=read, name="fame-host-reader", daemon=True).start()
    channel.notify("ready", {"pid": os.getpid(), "confinement": confinement})
    loop.run_forever()
    return 0
