"""The manifest a plugin declares: a module-level ``PLUGIN`` dict literal, validated at load.

The manifest is read from the file's syntax tree, never by importing it, so listing plugins runs
no plugin code. ``schema_version`` lets the format grow: a manifest without it is read as version 1.

Every start lists the plugins from their manifests, and the pydantic model (its import and build,
plus the scan for pydantic plugins when the first model is built) was about a fifth of a one-shot
``fame ask``. So :class:`PluginManifest` is a light frozen object, and a manifest is accepted here
only when the pydantic model would accept it as it is (exact types; phrases as lists or tuples of
strings; the fields' own checks pass). Anything else, an error or a coercion, goes to the model
(:mod:`fame_plugin_api.manifest_model`, imported on first need), which stays the one declaration
of the schema (:meth:`PluginManifest.model_json_schema`), so results and messages are its own.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self

from fame_plugin_api.intents import INTENTS
from fame_plugin_api.light_model import LightModel

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

#: The manifest format this API reads and writes.
SCHEMA_VERSION: Final = 1

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
_VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+)?([.-]?[a-z0-9]+)?$")
# pydantic refuses a string holding a lone surrogate (it cannot be UTF-8): it says so.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Ints beyond these go to pydantic (which stores them in 64 bits when it can).
_INT_RANGE = (-(2**63), 2**63 - 1)

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


# --- the fields' own checks (the model's validators call these: one wording for both) ----------


def check_name(value: str) -> str:
    """``name`` must be lower_snake_case (ValueError if not)."""
    if not _NAME_RE.match(value):
        raise ValueError(_HINTS["name"])
    return value


def check_version(value: str) -> str:
    """``version`` must look like ``1.2.3`` (ValueError if not)."""
    if not _VERSION_RE.match(value):
        raise ValueError(_HINTS["version"])
    return value


def check_description(value: str) -> str:
    """``description`` must say something; it is stored stripped (ValueError if empty)."""
    if not value.strip():
        raise ValueError(_HINTS["description"])
    return value.strip()


def check_intents(value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Every intent served must be a known one (ValueError if not)."""
    for intent in value:
        if intent not in INTENTS:
            raise ValueError(f"unknown intent {intent!r}; known: {sorted(INTENTS)}")
    return value


def check_patterns(value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Every pattern must compile (ValueError if one does not)."""
    for intent, regexes in value.items():
        for rx in regexes:
            try:
                re.compile(rx)
            except re.error as exc:
                raise ValueError(f"bad pattern for {intent}: {exc}") from exc
    return value


def check_timeout(value: float | None) -> float | None:
    """A timeout must be positive; it is stored as a float (ValueError if not positive)."""
    if value is None:
        return None
    if value <= 0:
        raise ValueError(_HINTS["timeout_seconds"])
    return float(value)


def _plain_str(value: object) -> bool:
    return type(value) is str and not _SURROGATE.search(value)


def _plain_phrases(value: object) -> dict[str, tuple[str, ...]] | None:
    """``intent -> phrases`` as the model stores it (tuples), if it would take it as it is."""
    if type(value) is not dict:
        return None
    out: dict[str, tuple[str, ...]] = {}
    for key, items in value.items():
        if not _plain_str(key) or type(items) not in (list, tuple):
            return None
        if not all(_plain_str(item) for item in items):
            return None
        out[key] = tuple(items)
    return out


def _plain_int(value: object) -> bool:
    return type(value) is int and _INT_RANGE[0] <= value <= _INT_RANGE[1]


def _plain_number(value: object) -> bool:
    # A finite float (NaN and infinities go to pydantic) or an int.
    return _plain_int(value) or (type(value) is float and value - value == 0.0)


class PluginManifest(LightModel):
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

    __slots__ = (
        "admin_only",
        "capability",
        "dangerous",
        "description",
        "intents",
        "keywords",
        "name",
        "needs_network",
        "patterns",
        "priority",
        "schema_version",
        "timeout_seconds",
        "version",
    )
    #: The fields, in the model's order.
    FIELDS: ClassVar[tuple[str, ...]] = (
        "schema_version",
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
    )

    schema_version: int
    name: str
    version: str
    description: str
    intents: dict[str, tuple[str, ...]]
    keywords: dict[str, tuple[str, ...]]
    patterns: dict[str, tuple[str, ...]]
    needs_network: bool
    admin_only: bool
    dangerous: bool
    capability: str | None
    timeout_seconds: float | None
    priority: int

    @classmethod
    def pydantic_model(cls) -> type[BaseModel]:
        """The manifest's pydantic model."""
        return manifest_model()

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        """The manifest's JSON schema (the model's)."""
        return manifest_model().model_json_schema()

    @classmethod
    def _plain(cls, raw: dict[Any, Any]) -> Self | None:
        """The manifest for ``raw`` if the model would take it as it is, else None (ask it)."""
        if not all(type(key) is str for key in raw) or not raw.keys() <= _FIELD_SET:
            return None
        get = raw.get
        # Any: each is checked below before it is used as the type the model declares.
        name: Any = get("name")
        version: Any = get("version")
        description: Any = get("description")
        intents = _plain_phrases(get("intents"))
        keywords = _plain_phrases(get("keywords", {}))
        patterns = _plain_phrases(get("patterns", {}))
        flags = (get("needs_network", False), get("admin_only", False), get("dangerous", False))
        capability, timeout, priority = get("capability"), get("timeout_seconds"), get("priority", 0)
        schema_version = get("schema_version", SCHEMA_VERSION)
        if not (
            type(schema_version) is int
            and schema_version == SCHEMA_VERSION
            and _plain_str(name)
            and _plain_str(version)
            and _plain_str(description)
            and intents
            and keywords is not None
            and patterns is not None
            and all(type(flag) is bool for flag in flags)
            and (capability is None or _plain_str(capability))
            and (timeout is None or _plain_number(timeout))
            and _plain_int(priority)
        ):
            return None
        try:
            values = {
                "schema_version": schema_version,
                "name": check_name(name),
                "version": check_version(version),
                "description": check_description(description),
                "intents": check_intents(intents),
                "keywords": keywords,
                "patterns": check_patterns(patterns),
                "needs_network": flags[0],
                "admin_only": flags[1],
                "dangerous": flags[2],
                "capability": capability,
                "timeout_seconds": check_timeout(timeout),
                "priority": priority,
            }
        except ValueError:
            return None  # the model words the error
        return cls._construct(values)

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


_FIELD_SET = frozenset(PluginManifest.FIELDS)


def manifest_model() -> type[BaseModel]:
    """The manifest's pydantic model (imported on first need: see this module's docstring)."""
    from fame_plugin_api import manifest_model as model

    return model.PluginManifest


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
    data = dict(raw)
    for key in data:
        if not isinstance(key, str):
            raise ManifestError(f"{source}: PLUGIN's keys must be field names in quotes, not {key!r}")
    plain = PluginManifest._plain(data)
    if plain is not None:
        return plain
    from pydantic import ValidationError  # the model below imports it

    try:
        return PluginManifest._from_model(manifest_model().model_validate(data))
    except ValidationError as exc:
        raise ManifestError(f"{source}: {_first_problem(exc)}") from None


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        return f"unknown manifest fields {unknown}"
    # Report fields in declaration order, so the first thing to fix comes first.
    rank = {name: i for i, name in enumerate(PluginManifest.FIELDS)}
    error = min(errors, key=lambda e: rank.get(str(e["loc"][0]), len(rank)) if e["loc"] else len(rank))
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
