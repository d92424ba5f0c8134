"""A built-in plugin's manifest read from its ``PLUGIN`` statement alone.

Every start lists the built-in plugins from their manifests; parsing each whole file (about 75 kB
of source for ``core/``) was most of that (about 30 ms of a ``fame ask``). A built-in's manifest is
a literal dict at module level, so parsing just that statement gives the same manifest. This is
only for the app's own trusted plugins: whatever the shortcut cannot read plainly (no such
statement, one that does not parse alone, a possible string around it) falls back to
:func:`fame_plugin_api.read_manifest`, with its messages. A syntax error elsewhere in a built-in
file shows when it is imported. User plugins are always read whole (:mod:`plugin_files`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from fame_plugin_api import ManifestError, PluginManifest, parse_manifest, read_manifest_source

# ``PLUGIN = {`` or ``PLUGIN: dict[...] = {`` at the start of a line (module level).
_PLUGIN_STATEMENT = re.compile(r"^PLUGIN\s*(?::[^=\n]*)?=", re.MULTILINE)
# The next module-level statement: a line starting with anything but space, a closing bracket or
# a comment (the literal's own closing ``}`` sits at the start of a line).
_NEXT_STATEMENT = re.compile(r"^(?=[^\s}\])#])", re.MULTILINE)


def read_builtin_manifest(path: Path) -> PluginManifest:
    """The manifest of the built-in plugin at ``path`` (the same as ``read_manifest(path)``).

    Raises:
        ManifestError: It is missing or invalid (the message names the file and the problem).
    """
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path.name}: cannot read: {exc}") from exc
    raw = _plugin_literal(source)
    if raw is None:
        return read_manifest_source(source, path)
    return parse_manifest(raw, path.name)


def _plugin_literal(source: str) -> object | None:
    """The value of the first module-level ``PLUGIN`` literal, or None (read the whole file)."""
    found = _PLUGIN_STATEMENT.search(source)
    if found is None:
        return None
    before = source[: found.start()]
    if before.count('"""') % 2 or before.count("'''") % 2:
        return None  # maybe inside a docstring: only the whole parse can tell
    end = _NEXT_STATEMENT.search(source, found.end())
    try:
        tree = ast.parse(source[found.start() : end.start() if end else len(source)])
    except SyntaxError:
        return None
    if len(tree.body) != 1:
        return None
    statement = tree.body[0]
    value = statement.value if isinstance(statement, ast.Assign | ast.AnnAssign) else None
    if value is None:
        return None
    try:
        literal: object = ast.literal_eval(value)
    except ValueError:
        return None
    return literal
