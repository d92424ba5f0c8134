"""Discovers, loads, isolates, reloads and calls plugins.

Plugins are listed from their manifests without running their code. Built-in plugins (``core/``,
trusted, shipped with the app) are imported in process, in a worker thread with a time limit: all
of them at load, or (``load_all(import_builtins=False)``, what a one-shot ``fame ask`` does) each
the first time a query calls it. A user plugin runs only once an admin approved the SHA-256 of its
file (:mod:`plugin_approval`), and then in its own host process (:mod:`plugin_process`), which is
killed when it overruns its (capped) time. Either way a plugin that fails to parse, raises or exits at import, hangs, crashes
or returns garbage is shown as failed with its reason while the others keep working.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import inspect
import json
import logging
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from fame_desktop.orchestrator.audit_kinds import AuditAppend, AuditKind
from fame_desktop.orchestrator.builtin_manifests import read_builtin_manifest
from fame_desktop.orchestrator.errors import FameError, PluginError, PluginTimeout
from fame_desktop.orchestrator.events import (
    EventBus,
    PluginFailed,
    PluginLoaded,
    PluginReloaded,
    PluginStateChanged,
)
from fame_desktop.orchestrator.paths import builtin_plugin_dir
from fame_desktop.orchestrator.plugin_api import PluginContext
from fame_desktop.orchestrator.plugin_approval import PluginApprovals
from fame_desktop.orchestrator.plugin_files import is_package, newest_mtime, read_plugin
from fame_desktop.orchestrator.settings import Settings
from fame_plugin_api import ManifestError, PluginHost, PluginManifest, read_manifest_source

if TYPE_CHECKING:
    from fame_desktop.orchestrator.plugin_process import PluginProcess

log = logging.getLogger("fame.plugins")

IMPORT_TIMEOUT = 10.0
# A user plugin's manifest may ask for less time, never more: a manifest saying 100000 s must not
# let a looping import hold `fame plugins` (or a query) for a day.
MAX_USER_LOAD_SECONDS = IMPORT_TIMEOUT
# The hard ceiling of a user plugin's answer (the plugins.timeout_seconds setting's own maximum).
MAX_USER_CALL_SECONDS = 600.0
AWAITING = "awaiting_approval"
MAX_RESPONSE_CHARS = 200_000
# A plugin call that hangs keeps its thread; after this many stuck calls the plugin is refused
# quickly instead of eating the pool.
MAX_STUCK_CALLS = 2


@dataclass
class PluginRecord:
    """One plugin file and what became of it."""

    path: Path
    name: str
    manifest: PluginManifest | None = None
    status: str = "discovered"  # loaded | failed | disabled | awaiting_approval | discovered
    error: str | None = None
    module: ModuleType | None = field(default=None, repr=False)
    mtime: float = 0.0
    builtin: bool = False
    calls: int = 0
    failures: int = 0
    stuck: int = 0
    sha256: str | None = None
    # A user plugin: the approved sources it runs from (a package's other modules too) and its host.
    source: str | None = field(default=None, repr=False)
    modules: dict[str, str] = field(default_factory=dict, repr=False)
    process: PluginProcess | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready listing (``fame plugins --json``, ``GET /plugins``, the plugins pane)."""
        out: dict[str, Any] = self.manifest.to_dict() if self.manifest else {"name": self.name}
        out.update(
            status=self.status,
            error=self.error,
            path=str(self.path),
            builtin=self.builtin,
            isolated=not self.builtin,
            confinement=self.process.confinement if self.process is not None else None,
            sha256=self.sha256,
            calls=self.calls,
            failures=self.failures,
        )
        if self.status == AWAITING:
            out["approve_command"] = approve_command(self.name)
        return out


def approve_command(name: str) -> str:
    """The command that approves a waiting plugin (shown by the CLI and the Plugins pane)."""
    return f"fame plugins approve {name} --admin-key KEY"


ContextFactory = Callable[[str], PluginHost]


class PluginManager:
    """Owns every plugin.

    Args:
        folders: Plugin folders, built-in first; a later plugin with an already taken name fails.
        context_factory: Builds the context (a :class:`fame_plugin_api.PluginHost`) passed to a
            plugin's ``init``.
        bus: Where plugin events go.
        disabled: Names turned off by the user.
        approvals: The signed approvals user plugins need (None: no user plugin ever runs).
        audit: Where waiting and refused plugins are recorded.
        trusted_folders: Folders of trusted plugins, run in process without approval (default:
            the built-in ``core/``).
        private_paths: What user plugins' hosts must never read (the data dir).
    """

    def __init__(
        self,
        folders: Iterable[Path],
        context_factory: ContextFactory,
        bus: EventBus,
        disabled: Iterable[str] = (),
        *,
        approvals: PluginApprovals | None = None,
        audit: AuditAppend | None = None,
        trusted_folders: Iterable[Path] | None = None,
        private_paths: Iterable[Path] = (),
    ) -> None:
        self.folders = [Path(f) for f in folders]
        self._context_factory = context_factory
        self._bus = bus
        self._disabled = set(disabled)
        self.approvals = approvals
        self._audit = audit
        trusted = [builtin_plugin_dir()] if trusted_folders is None else list(trusted_folders)
        self._trusted = {Path(f).resolve() for f in trusted}
        self._private = [Path(p) for p in private_paths]
        # (name, sha256) already audited as waiting, so a rescan every 2 s does not flood the log.
        self._audited_waiting: set[tuple[str, str]] = set()
        self._records: dict[Path, PluginRecord] = {}
        self._lock = threading.RLock()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=32, thread_name_prefix="fame-plugin"
        )
        self._generation = 0
        # Files being loaded now: a rescan (the Plugins pane's, every 2 s) leaves them alone, or a
        # plugin host still starting would be started a second time.
        self._loading: set[Path] = set()
        self._import_lock = threading.Lock()

    # --- listing ---------------------------------------------------------------------------------

    def records(self) -> list[PluginRecord]:
        """Every plugin file found, built-ins first, then by name."""
        with self._lock:
            return sorted(self._records.values(), key=lambda r: (not r.builtin, r.name))

    def get(self, name: str) -> PluginRecord | None:
        """The record of the plugin called ``name``."""
        for rec in self.records():
            if rec.name == name:
                return rec
        return None

    def loaded(self) -> list[PluginRecord]:
        """Plugins that loaded and are enabled."""
        return [r for r in self.records() if r.status == "loaded"]

    def for_intent(self, intent: str) -> list[PluginRecord]:
        """Loaded plugins that serve ``intent``, highest priority first."""
        found = [r for r in self.loaded() if r.manifest and intent in r.manifest.intents]
        return sorted(found, key=lambda r: -(r.manifest.priority if r.manifest else 0))

    def manifests(self) -> list[PluginManifest]:
        """Manifests of loaded plugins (what routing uses)."""
        return [r.manifest for r in self.loaded() if r.manifest]

    def _scan(self) -> list[Path]:
        """Plugin files (``*.py``) and, in user folders, package plugins (folders with ``__init__.py``)."""
        found: list[Path] = []
        for folder in self.folders:
            if not folder.is_dir():
                continue
            trusted = folder.resolve() in self._trusted
            for path in sorted(folder.iterdir()):
                if path.name.startswith(("_", ".")):
                    continue
                if (path.suffix == ".py" and path.is_file()) or (not trusted and is_package(path)):
                    found.append(path)
        return found

    # --- loading ---------------------------------------------------------------------------------

    def load_all(self, *, import_builtins: bool = True) -> list[PluginRecord]:
        """Discover and load every plugin (blocking; call from a worker thread in async code).

        Built-in plugins load one after the other; user plugins' host processes start together, so
        several slow or stuck ones cost one load timeout, not one each.

        Args:
            import_builtins: Import the built-in plugins now. False: list them from their manifests
                as loaded, and import each when it is first called (:meth:`call`); one that then
                fails to import is marked failed and that call raises.
        """
        paths = self._scan()
        trusted = [p for p in paths if self._is_trusted(p)]
        for path in trusted:
            self._load_path(path, reload=False, import_builtin=import_builtins)
        others = [p for p in paths if p not in trusted]
        if others:
            list(self._executor.map(lambda p: self._load_path(p, reload=False), others))
        return self.records()

    def _is_trusted(self, path: Path) -> bool:
        return path.parent.resolve() in self._trusted

    async def load_all_async(self, *, import_builtins: bool = True) -> list[PluginRecord]:
        """:meth:`load_all` off the event loop."""
        return await asyncio.to_thread(lambda: self.load_all(import_builtins=import_builtins))

    def rescan(self) -> list[str]:
        """Pick up new, changed and removed plugin files; returns the names that changed."""
        changed: list[str] = []
        present = set(self._scan())
        with self._lock:
            gone = [p for p in self._records if p not in present]
            for path in gone:
                removed = self._records.pop(path)
                if removed.process is not None:
                    removed.process.kill()
                changed.append(removed.name)
                self._bus.publish(PluginStateChanged(name=removed.name, enabled=False))
        for path in present:
            with self._lock:
                if path in self._loading:
                    continue
            rec = self._records.get(path)
            mtime = _mtime(path)
            if rec is None or mtime != rec.mtime:
                new = self._load_path(path, reload=rec is not None)
                changed.append(new.name)
        return changed

    def reload(self, name: str) -> PluginRecord:
        """Re-read and re-import the plugin called ``name`` from its file."""
        rec = self.get(name)
        if rec is None:
            raise PluginError(f"No plugin called {name!r}.", "See `fame plugins` for the names.")
        return self._load_path(rec.path, reload=True)

    def set_enabled(self, name: str, enabled: bool) -> PluginRecord:
        """Turn a plugin on or off (the caller persists the setting and checks admin)."""
        found = self.get(name)
        if found is None:
            raise PluginError(f"No plugin called {name!r}.", "See `fame plugins` for the names.")
        rec = found
        if enabled:
            self._disabled.discard(name)
            rec = self._load_path(rec.path, reload=True)
        else:
            self._disabled.add(name)
            with self._lock:
                rec.status = "disabled"
            if rec.process is not None:
                rec.process.kill()
        self._bus.publish(PluginStateChanged(name=name, enabled=enabled))
        return rec

    @property
    def disabled(self) -> set[str]:
        """Names of plugins the user turned off."""
        return set(self._disabled)

    def _load_path(self, path: Path, reload: bool, *, import_builtin: bool = True) -> PluginRecord:
        with self._lock:
            self._loading.add(path)
        try:
            return self._load_path_now(path, reload, import_builtin)
        finally:
            with self._lock:
                self._loading.discard(path)

    def _load_path_now(self, path: Path, reload: bool, import_builtin: bool) -> PluginRecord:
        builtin = self._is_trusted(path)
        rec = PluginRecord(path=path, name=path.stem, mtime=_mtime(path), builtin=builtin)
        old = self._records.get(path)
        try:
            if builtin:
                rec.manifest = read_builtin_manifest(path)  # trusted: its PLUGIN statement
            else:
                # Read once: the bytes hashed for approval are the bytes parsed and run.
                files = read_plugin(path)
                rec.sha256 = files.sha256
                rec.manifest = read_manifest_source(files.main, Path(files.main_name))
            rec.name = rec.manifest.name
            clash = self.get(rec.name)
            if clash is not None and clash.path != path:
                raise ManifestError(
                    f"{path.name}: a plugin called {rec.name!r} is already loaded from {clash.path}"
                )
            if old is not None and old.process is not None:
                old.process.kill()
            if rec.name in self._disabled:
                rec.status = "disabled"
            elif builtin:
                if import_builtin:  # else imported by its first call
                    rec.module = self._import(path, rec.name, rec.manifest)
                rec.status = "loaded"
            elif not self._approved(rec):
                rec.status = AWAITING
                rec.error = (
                    f"waiting for approval: {path.name} (SHA-256 {rec.sha256}) has not been approved "
                    f"by an admin. Read it, then run `{approve_command(rec.name)}` "
                    "(or select it in the Plugins pane and press Approve)."
                )
            else:
                rec.source, rec.modules = files.main, files.modules
                rec.process = self._start_host(rec, rec.manifest, rec.source)
                rec.status = "loaded"
        except (ManifestError, PluginError) as exc:
            rec.status, rec.error = "failed", str(exc)
            if isinstance(exc, PluginError) and exc.fix:
                rec.error = f"{exc.message} {exc.fix}"
        with self._lock:
            self._records[path] = rec
        if rec.status == "failed":
            log.warning("plugin %s failed: %s", path.name, rec.error)
            self._bus.publish(
                PluginFailed(name=rec.name, path=str(path), stage="load", error=rec.error or "")
            )
        elif rec.status == AWAITING:
            self._bus.publish(PluginStateChanged(name=rec.name, enabled=False))
        elif rec.status == "loaded" and rec.manifest:
            event_type = PluginReloaded if reload else PluginLoaded
            self._bus.publish(event_type(name=rec.name, version=rec.manifest.version, path=str(path)))
        return rec

    def _approved(self, rec: PluginRecord) -> bool:
        """Whether an admin approved this exact file; a refusal is audited once per file hash."""
        assert rec.sha256 is not None
        if self.approvals is not None and self.approvals.is_approved(rec.name, rec.sha256):
            return True
        seen = (rec.name, rec.sha256)
        if self._audit is not None and seen not in self._audited_waiting:
            self._audited_waiting.add(seen)
            self._audit(
                AuditKind.PLUGIN_AWAITING_APPROVAL,
                {"plugin": rec.name, "file": rec.path.name, "sha256": rec.sha256},
                actor="system",
                summary=f"plugin {rec.name} not loaded: waiting for admin approval",
            )
        return False

    def _start_host(self, rec: PluginRecord, manifest: PluginManifest, source: str) -> PluginProcess:
        # Imported with the first user plugin's host (the process machinery and its sandboxing
        # cost start-up; most runs have no approved user plugin).
        from fame_desktop.orchestrator.plugin_process import PluginProcess

        process = PluginProcess(rec.name, self._context_factory(rec.name), private=self._private)
        filename = f"{rec.path.name}/__init__.py" if rec.modules or rec.path.is_dir() else rec.path.name
        process.start(source, filename, load_timeout(manifest), modules=rec.modules)
        return process

    def _import_listed(self, rec: PluginRecord) -> ModuleType:
        """Import a built-in plugin listed without importing it; on failure it is marked failed.

        Raises:
            PluginError: It failed to import or ``init`` (as at load).
        """
        with self._import_lock:  # two first queries at once import it once
            if rec.module is not None:
                return rec.module
            assert rec.manifest is not None  # listed as loaded: its manifest was read
            try:
                rec.module = self._import(rec.path, rec.name, rec.manifest)
            except PluginError as exc:
                with self._lock:
                    rec.status, rec.error = "failed", f"{exc.message} {exc.fix}" if exc.fix else exc.message
                log.warning("plugin %s failed: %s", rec.path.name, rec.error)
                self._bus.publish(
                    PluginFailed(name=rec.name, path=str(rec.path), stage="load", error=rec.error or "")
                )
                raise
            return rec.module

    def _import(self, path: Path, name: str, manifest: PluginManifest) -> ModuleType:
        self._generation += 1
        mod_name = f"fame_plugin_{name}_{self._generation}"

        def work() -> ModuleType:
            spec = importlib.util.spec_from_file_location(mod_name, path)
            if spec is None or spec.loader is None:
                raise PluginError(f"{path.name}: cannot be imported")
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            try:
                # Compiled from the source every time, never from __pycache__: a file rewritten
                # within the same second at the same size would otherwise run its stale bytecode
                # (the cache checks only whole-second mtime and size), and a user's plugin folder
                # stays free of cache files.
                code = compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
                exec(code, module.__dict__)
            finally:
                sys.modules.pop(mod_name, None)
            handle = getattr(module, "handle", None)
            if not callable(handle):
                raise PluginError(f"{path.name}: has no handle(request) function")
            init = getattr(module, "init", None)
            if callable(init):
                result = init(self._context_factory(name))
                if inspect.isawaitable(result):
                    asyncio.run(_as_coro(result))
            return module

        timeout = manifest.timeout_seconds or IMPORT_TIMEOUT
        future = self._executor.submit(work)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError as exc:
            raise PluginError(f"{path.name}: import or init() did not finish in {timeout:g} s") from exc
        except PluginError:
            raise
        except BaseException as exc:
            raise PluginError(f"{path.name}: failed to load: {_describe(exc)}") from exc

    # --- calling ---------------------------------------------------------------------------------

    async def call(self, rec: PluginRecord, request: dict[str, Any], time_limit: float) -> dict[str, Any]:
        """Call a plugin's ``handle`` with a time limit and validate what it returns.

        Raises:
            PluginTimeout: It took longer than ``time_limit``.
            PluginError: It raised or returned something malformed.
            FameError: It raised one (network disabled, capability disabled, ...): passed on.
        """
        if not rec.builtin:
            return self._validate(rec, await self._call_host(rec, request, time_limit))
        module = rec.module
        if module is None and rec.status == "loaded":  # listed, not imported yet (see load_all)
            module = await asyncio.to_thread(self._import_listed, rec)
        if module is None:
            raise PluginError(f"Plugin {rec.name} is not loaded: {rec.error or rec.status}.")
        if rec.stuck >= MAX_STUCK_CALLS:
            raise PluginError(
                f"Plugin {rec.name} is stuck in earlier calls that never returned.",
                f"Reload it (`fame plugins --reload {rec.name}` or the Plugins pane).",
            )
        handle = module.handle
        rec.calls += 1
        try:
            if inspect.iscoroutinefunction(handle):
                # asyncio.timeout, not wait_for: no task per call for a coroutine on this loop.
                async with asyncio.timeout(time_limit):
                    result = await handle(dict(request))
            else:
                loop = asyncio.get_running_loop()
                future = loop.run_in_executor(self._executor, handle, dict(request))
                try:
                    result = await asyncio.wait_for(asyncio.shield(future), time_limit)
                except TimeoutError:
                    rec.stuck += 1
                    future.add_done_callback(lambda _f: _unstick(rec))
                    raise
                if inspect.isawaitable(result):
                    result = await asyncio.wait_for(_as_coro(result), time_limit)
        except TimeoutError as exc:
            rec.failures += 1
            self._failed(rec, "handle", f"no answer within {time_limit:.0f} s")
            raise PluginTimeout(
                f"Plugin {rec.name} did not answer within {time_limit:.0f} s.",
                "Try again, or raise plugins.timeout_seconds in Settings.",
            ) from exc
        except FameError:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            rec.failures += 1
            detail = _describe(exc)
            self._failed(rec, "handle", detail)
            raise PluginError(
                f"Plugin {rec.name} failed: {detail}", "See the Plugins pane for details."
            ) from exc
        return self._validate(rec, result)

    async def _call_host(self, rec: PluginRecord, request: dict[str, Any], time_limit: float) -> object:
        """A user plugin's answer from its host process (restarted first if it died or was killed)."""
        if rec.status != "loaded" or rec.source is None or rec.manifest is None:
            raise PluginError(f"Plugin {rec.name} is not loaded: {rec.error or rec.status}.")
        time_limit = min(time_limit, MAX_USER_CALL_SECONDS)
        rec.calls += 1
        try:
            process = rec.process
            if process is None or not process.alive:
                if process is not None:
                    process.kill()  # reap it and close its pipes
                manifest, source = rec.manifest, rec.source
                process = await asyncio.to_thread(self._start_host, rec, manifest, source)
                rec.process = process
            return await process.call(dict(request), time_limit)
        except PluginTimeout as exc:
            rec.failures += 1
            self._failed(rec, "handle", exc.message)
            raise
        except PluginError as exc:
            rec.failures += 1
            self._failed(rec, "handle", exc.message)
            raise
        except FameError:
            raise

    def _validate(self, rec: PluginRecord, result: object) -> dict[str, Any]:
        problem = None
        if not isinstance(result, dict):
            problem = f"returned {type(result).__name__}, not a dict"
        else:
            text = result.get("response", result.get("text"))
            if not isinstance(text, str):
                problem = "returned no 'response' text"
            elif len(text) > MAX_RESPONSE_CHARS:
                problem = f"returned {len(text)} characters (limit {MAX_RESPONSE_CHARS})"
            else:
                try:
                    json.dumps(result, allow_nan=False)
                except (TypeError, ValueError) as exc:
                    problem = f"returned data that is not JSON: {exc}"
        if problem is not None:
            rec.failures += 1
            self._failed(rec, "handle", problem)
            raise PluginError(
                f"Plugin {rec.name} {problem}.", "This is a bug in the plugin; report it to its author."
            )
        assert isinstance(result, dict)
        return result

    def _failed(self, rec: PluginRecord, stage: str, error: str) -> None:
        log.warning("plugin %s failed in %s: %s", rec.name, stage, error)
        self._bus.publish(PluginFailed(name=rec.name, path=str(rec.path), stage=stage, error=error))

    def restart_hosts(self) -> None:
        """Stop every user plugin's host; each starts again on its next question.

        Called when the network switch changes: a host gets TCP or not when it starts.
        """
        for rec in self.records():
            if rec.process is not None:
                rec.process.kill()

    def close(self) -> None:
        """Stop every plugin host process and the plugin thread pool (stuck calls are abandoned)."""
        for rec in self.records():
            if rec.process is not None:
                rec.process.kill()
        self._executor.shutdown(wait=False, cancel_futures=True)


def call_time_limit(rec: PluginRecord, setting: float) -> float:
    """Time plugin ``rec`` may take to answer, given the ``plugins.timeout_seconds`` setting.

    A built-in plugin's manifest is trusted (code generation may take minutes); a user plugin's
    may ask for less than the setting, never more.
    """
    asked = rec.manifest.timeout_seconds if rec.manifest and rec.manifest.timeout_seconds else setting
    return asked if rec.builtin else min(asked, setting, MAX_USER_CALL_SECONDS)


def load_timeout(manifest: PluginManifest) -> float:
    """Time a user plugin may take to import and ``init``: its manifest's, capped by the app."""
    return min(manifest.timeout_seconds or IMPORT_TIMEOUT, MAX_USER_LOAD_SECONDS)


def _unstick(rec: PluginRecord) -> None:
    rec.stuck = max(0, rec.stuck - 1)


async def _as_coro(awaitable: Any) -> Any:
    return await awaitable


def _mtime(path: Path) -> float:
    return newest_mtime(path)


def _describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def load_plugins(folder: Path | None = None) -> dict[str, PluginRecord]:
    """The seed's ``load_plugins()``: load the plugins of ``folder`` (default ``core/``).

    Returns:
        Plugin name -> record (``status`` says loaded or failed, ``error`` why).
    """
    defaults = Settings()

    def get_setting(path: str) -> Any:
        obj: Any = defaults
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    bus = EventBus()

    def factory(name: str) -> PluginContext:
        return PluginContext(
            name=name, get_setting=get_setting, publish_event=bus.publish, list_plugins=list, status=dict
        )

    manager = PluginManager([folder or builtin_plugin_dir()], factory, bus)
    try:
        return {r.name: r for r in manager.load_all()}
    finally:
        manager.close()
