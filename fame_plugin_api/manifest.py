"""The manifest a plugin declares: a module-level ``PLUGIN`` dict literal, validated by a pydantic model.

The manifest is read from the file's syntax tree, never by importing it, so listing plugins runs
no plugin code. ``schema_version`` lets the format grow: a manifest without it is read as version 1.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

from fame_plugin_api.intents import INTENTS

#: The manifest format this API reads and writes.
SCHEMA_VERSION: Final = 1

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
_VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+)?([.-]?[a-z0-9]+)?$")

# What a person reads when a field has the wrong type or is missing (pydantic's own wording names
# internal types); value checks below raise their own messages.
_HINTS: dict[str, str] = {
    "schema_version": f"'schema_version' must be {SCHEMA_VERSION} (the manifest format this FAME reads)",
    "name": "'name' must be a lower_snake_case string",
    "version": "'version' must look like 1.2.3",
    "description": "'description' is required",
    "intents": "'intents' must be a dict of intent -> list of strings",
    "keywords": "'keywords' must be a dict of intent -> list of strings",
    "patterns": "'patterns' must be a dict of intent -> list of strings",
    "needs_network": "'needs_network' must be true or false",
    "admin_only": "'admin_only' must be true or false",
    "dangerous": "'dangerous' must be true or false",
    "capability": "'capability' must be a string",
    "timeout_seconds": "'timeout_seconds' must be a positive number",
    "priority": "'priority' must be an integer",
}


class ManifestError(ValueError):
    """A plugin's manifest is missing or invalid."""


class PluginManifest(BaseModel):
    """What a plugin declares about itself.

    Attributes:
        schema_version: The manifest format (1).
        name: Unique lower_snake_case name.
        version: The plugin's version, like ``1.2.3``.
        description: One or two sentences for the plugin list and the help answer.
        intents: Intent -> example phrases it answers (routing learns from them).
        keywords: Intent -> words or phrases that point to it.
        patterns: Intent -> regular expressions that point to it.
        needs_network: It reaches the network (refused while the network switch is off).
        admin_only: Only an admin may use it.
        dangerous: Disabled until an admin enables its capability.
        capability: The capability that gates a dangerous plugin (default: its first intent).
        timeout_seconds: Time it may take to load and to answer (default: the setting).
        priority: Higher answers first among plugins of one intent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    name: StrictStr
    version: StrictStr
    description: StrictStr
    intents: dict[StrictStr, tuple[StrictStr, ...]] = Field(min_length=1)
    keywords: dict[StrictStr, tuple[StrictStr, ...]] = Field(default_factory=dict)
    patterns: dict[StrictStr, tuple[StrictStr, ...]] = Field(default_factory=dict)
    needs_network: StrictBool = False
    admin_only: StrictBool = False
    dangerous: StrictBool = False
    capability: StrictStr | None = None
    timeout_seconds: StrictFloat | StrictInt | None = None
    priority: StrictInt = 0

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(_HINTS["name"])
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION_RE.match(value):
            raise ValueError(_HINTS["version"])
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(_HINTS["description"])
        return value.strip()

    @field_validator("intents")
    @classmethod
    def _known_intents(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for intent in value:
            if intent not in INTENTS:
                raise ValueError(f"unknown intent {intent!r}; known: {sorted(INTENTS)}")
        return value

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for intent, regexes in value.items():
            for rx in regexes:
                try:
                    re.compile(rx)
                except re.error as exc:
                    raise ValueError(f"bad pattern for {intent}: {exc}") from exc
        return value

    @field_validator("timeout_seconds")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is None:
            return None
        if value <= 0:
            raise ValueError(_HINTS["timeout_seconds"])
        return float(value)

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

    Args:
        raw: The ``PLUGIN`` value.
        source: Where it comes from (a file name), the start of every error message.

    Raises:
        ManifestError: naming the field that is wrong.
    """
    if not isinstance(raw, Mapping):
        raise ManifestError(f"{source}: PLUGIN must be a dict")
    try:
        return PluginManifest.model_validate(dict(raw))
    except ValidationError as exc:
        raise ManifestError(f"{source}: {_first_problem(exc)}") from None


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        return f"unknown manifest fields {unknown}"
    # Report fields in declaration order, so the first thing to fix comes first.
    order = list(PluginManifest.model_fields)
    error = min(errors, key=lambda e: order.index(str(e["loc"][0])) if e["loc"] else len(order))
    field = str(error["loc"][0]) if error["loc"] else ""
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if field in ("intents", "keywords", "patterns") and len(error["loc"]) >= 3:
        return f"{field}[{error['loc'][1]!r}] must hold only strings"
    return _HINTS.get(field, str(error["msg"]))


def read_manifest(path: Path) -> PluginManifest:
    """Read the ``PLUGIN`` literal of a plugin file without importing it.

    Raises:
        ManifestError: The file has a syntax error, no ``PLUGIN`` literal, or an invalid one. A file
            written to the seed's ``init``/``handle`` interface without a manifest gets a message
            that shows the manifest to add (see :func:`suggest_manifest`).
    """
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path.name}: cannot read: {exc}") from exc
    return read_manifest_source(source, path)


def read_manifest_source(source: str, path: Path) -> PluginManifest:
    """Like :func:`read_manifest`, from ``source`` already read from ``path``.

    The app reads a user plugin once, hashes those bytes for approval and runs the same bytes, so
    the manifest must come from them too, not from a second read of a file that may have changed.
    """
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise ManifestError(f"{path.name}: syntax error on line {exc.lineno}: {exc.msg}") from exc
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
    message = f"{path.name}: no module-level PLUGIN manifest"
    if _defines(tree, "handle"):
        message += (
            ". It looks like a plugin written to the seed's init/handle interface; FAME loads a "
            "plugin only once it declares what it serves, whether it needs the network and whether "
            f"it is dangerous. Add this at the top of {path.name}, then list the phrases it answers:\n\n"
            + suggest_manifest(path, tree)
        )
    raise ManifestError(message)


# Modules whose import suggests the plugin reaches the network.
_NETWORK_MODULES = frozenset(
    {"httpx", "requests", "urllib", "http", "socket", "aiohttp", "websockets", "ssl"}
)


def suggest_manifest(path: Path, tree: ast.Module | None = None) -> str:
    """The ``PLUGIN`` literal to add to a plugin file that has none, guessed from its code.

    The name comes from the file name, the description from the module docstring, the intents from
    intent names the code mentions (``chat`` if none), ``needs_network`` from what it imports. The
    result is valid as is (a test pastes it into a seed-style plugin and loads it).
    """
    if tree is None:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = re.sub(r"[^a-z0-9_]", "_", path.stem.lower()).strip("_")
    if not _NAME_RE.match(name):
        name = f"plugin_{name}"[:64].rstrip("_")
    doc = (ast.get_docstring(tree) or "").strip().splitlines()
    description = doc[0].strip() if doc and doc[0].strip() else f"The {name} plugin."
    mentioned = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in INTENTS
    ]
    intents = list(dict.fromkeys(mentioned)) or ["chat"]
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    suggestion: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "version": "0.1.0",
        "description": description,
        "intents": {intent: [] for intent in intents},
        "needs_network": bool(imported & _NETWORK_MODULES),
        "admin_only": False,
        "dangerous": False,
    }
    parse_manifest(suggestion, path.name)  # a suggestion that would not load is a bug here
    lines = ["PLUGIN = {"]
    lines.extend(f"    {json.dumps(key)}: {_literal(value)}," for key, value in suggestion.items())
    lines.append("}")
    return "\n".join(lines)


def _literal(value: object) -> str:
    """``value`` as Python source in the house style (double quotes, like the built-in manifests)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid Python string literal
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return repr(value)


def _defines(tree: ast.Module, function: str) -> bool:
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function
        for node in tree.body
    )
