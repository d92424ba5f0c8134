"""The public plugin contract: the manifest a plugin declares and the context it is given.

A plugin is a Python file with a module-level ``PLUGIN`` dict literal (its manifest), a
``handle(request: dict) -> dict`` function (sync or async) and an optional ``init(manager)``.
The manifest is read from the file's syntax tree without importing it, so listing plugins never
runs their code. ``manager`` is a :class:`PluginContext`: the small API plugins may use.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fame_desktop.orchestrator.errors import CapabilityDisabled, NetworkDisabled
from fame_desktop.orchestrator.events import Event, QueryProgress

if TYPE_CHECKING:
    import httpx

INTENTS: dict[str, str] = {
    "generate_code": "Write code for a programming task, with tests, run in the sandbox.",
    "architecture_design": "Design a software system: patterns and trade-offs.",
    "market_analysis": "Crypto prices, change, moving averages, RSI, volatility.",
    "web_search": "Search the web or read a web page.",
    "evolution": "Breed better solutions for a task (admin).",
    "security_test": "Non-destructive reachability checks of allowed hosts (dangerous).",
    "chat": "Greetings, help and small talk.",
    "system_info": "Time, date, version, Docker, network, voice and plugin status.",
    "calculate": "Arithmetic.",
}

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
_VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+)?([.-]?[a-z0-9]+)?$")


class ManifestError(ValueError):
    """A plugin's manifest is missing or invalid."""


@dataclass(frozen=True)
class PluginManifest:
    """What a plugin declares about itself."""

    name: str
    version: str
    description: str
    intents: Mapping[str, tuple[str, ...]]
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    patterns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    needs_network: bool = False
    admin_only: bool = False
    dangerous: bool = False
    capability: str | None = None
    timeout_seconds: float | None = None
    priority: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as ``fame plugins --json`` and ``GET /plugins`` show it."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "intents": {k: list(v) for k, v in self.intents.items()},
            "keywords": {k: list(v) for k, v in self.keywords.items()},
            "needs_network": self.needs_network,
            "admin_only": self.admin_only,
            "dangerous": self.dangerous,
        }


def parse_manifest(raw: object, source: str) -> PluginManifest:
    """Validate a manifest dict.

    Raises:
        ManifestError: naming the field that is wrong.
    """
    if not isinstance(raw, dict):
        raise ManifestError(f"{source}: PLUGIN must be a dict")
    allowed = {
        "name",
        "version",
        "description",
        "intents",
        "keywords",
        "patterns",
        "needs_network",
        "admin_only",
        "dangerous",
        "capability",
        "timeout_seconds",
        "priority",
    }
    unknown = set(raw) - allowed
    if unknown:
        raise ManifestError(f"{source}: unknown manifest fields {sorted(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ManifestError(f"{source}: 'name' must be a lower_snake_case string")
    version = raw.get("version")
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise ManifestError(f"{source}: 'version' must look like 1.2.3")
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ManifestError(f"{source}: 'description' is required")
    intents = _str_lists(raw.get("intents"), source, "intents", required=True)
    for intent in intents:
        if intent not in INTENTS:
            raise ManifestError(f"{source}: unknown intent {intent!r}; known: {sorted(INTENTS)}")
    keywords = _str_lists(raw.get("keywords", {}), source, "keywords")
    patterns = _str_lists(raw.get("patterns", {}), source, "patterns")
    for intent, regexes in patterns.items():
        for rx in regexes:
            try:
                re.compile(rx)
            except re.error as exc:
                raise ManifestError(f"{source}: bad pattern for {intent}: {exc}") from exc
    flags = {}
    for flag in ("needs_network", "admin_only", "dangerous"):
        value = raw.get(flag, False)
        if not isinstance(value, bool):
            raise ManifestError(f"{source}: {flag!r} must be true or false")
        flags[flag] = value
    timeout = raw.get("timeout_seconds")
    if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
        raise ManifestError(f"{source}: 'timeout_seconds' must be a positive number")
    capability = raw.get("capability")
    if capability is not None and not isinstance(capability, str):
        raise ManifestError(f"{source}: 'capability' must be a string")
    priority = raw.get("priority", 0)
    if not isinstance(priority, int):
        raise ManifestError(f"{source}: 'priority' must be an integer")
    return PluginManifest(
        name=name,
        version=version,
        description=description.strip(),
        intents=intents,
        keywords=keywords,
        patterns=patterns,
        capability=capability,
        timeout_seconds=float(timeout) if timeout is not None else None,
        priority=priority,
        **flags,
    )


def _str_lists(value: object, source: str, what: str, required: bool = False) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or (required and not value):
        raise ManifestError(f"{source}: {what!r} must be a dict of intent -> list of strings")
    out: dict[str, tuple[str, ...]] = {}
    for key, items in value.items():
        if not isinstance(key, str) or not isinstance(items, list | tuple):
            raise ManifestError(f"{source}: {what!r} must map intent names to lists")
        if not all(isinstance(i, str) for i in items):
            raise ManifestError(f"{source}: {what}[{key!r}] must hold only strings")
        out[key] = tuple(items)
    return out


def read_manifest(path: Path) -> PluginManifest:
    """Read the ``PLUGIN`` literal of a plugin file without importing it.

    Raises:
        ManifestError: The file has a syntax error, no ``PLUGIN`` literal, or an invalid one.
    """
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise ManifestError(f"{path.name}: syntax error on line {exc.lineno}: {exc.msg}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path.name}: cannot read: {exc}") from exc
    for node in tree.body:
        value: ast.expr | None = None
        target: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id == "PLUGIN" and value is not None:
            try:
                raw = ast.literal_eval(value)
            except ValueError as exc:
                raise ManifestError(f"{path.name}: PLUGIN must be a literal dict ({exc})") from exc
            return parse_manifest(raw, path.name)
    raise ManifestError(f"{path.name}: no module-level PLUGIN manifest")


@dataclass
class PluginContext:
    """What a plugin may use: passed to its ``init(manager)``.

    The composition root fills in the services; plugins never see the Brain itself.
    """

    name: str
    get_setting: Callable[[str], Any]
    publish_event: Callable[[Event], None]
    list_plugins: Callable[[], list[dict[str, Any]]]
    status: Callable[[], dict[str, Any]]
    #: Code generation service (``fame_desktop.orchestrator.codegen``), when built.
    codegen: Any = None
    #: Architecture knowledge base, when built.
    architecture: Any = None
    #: Sandbox (``DockerManager``), when built.
    sandbox: Any = None
    #: Evolution runner, when built.
    evolution: Any = None

    @property
    def log(self) -> logging.Logger:
        """The plugin's own logger."""
        return logging.getLogger(f"fame.plugin.{self.name}")

    def setting(self, path: str) -> Any:
        """A setting by dotted path, e.g. ``services.coingecko_url``."""
        return self.get_setting(path)

    @property
    def network_allowed(self) -> bool:
        """Whether the network is on."""
        return bool(self.get_setting("network.allow_network"))

    def require_network(self, what: str = "This request") -> None:
        """Raise :class:`NetworkDisabled` unless the network is on."""
        if not self.network_allowed:
            raise NetworkDisabled(what)

    def require_capability(self, capability: str) -> None:
        """Raise :class:`CapabilityDisabled` unless an admin enabled ``capability``."""
        if not self.get_setting(f"capabilities.{capability}"):
            raise CapabilityDisabled(capability)

    def http_client(self, *, base_url: str = "", timeout: float | None = None) -> httpx.AsyncClient:
        """An HTTP client for this plugin; raises :class:`NetworkDisabled` when the network is off."""
        self.require_network()
        import httpx  # only plugins that reach the network pay for it, not start-up

        return httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout or float(self.get_setting("services.http_timeout_seconds")),
            follow_redirects=True,
            headers={"User-Agent": "FAME-Desktop/0.1 (+https://github.com/fame-desktop)"},
        )

    def progress(self, query_id: str, message: str, fraction: float | None = None) -> None:
        """Report progress of a long answer to the window and CLI."""
        self.publish_event(QueryProgress(query_id=query_id, message=message, fraction=fraction))
