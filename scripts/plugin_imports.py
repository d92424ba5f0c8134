"""What the built-in plugins import, computed from the discovery the app itself uses.

``fame.spec`` calls :func:`plugin_imports` so the packaged app's hidden imports cannot drift from
``core/``: the plugins are discovered and loaded by the app's own ``load_plugins`` (manifest read
with ``read_manifest``, then imported), and every import statement of every loaded plugin file and
of the ``core`` helper modules they use is collected from their syntax trees (function-level
imports included, which a plain import would miss).

Run it alone to see the lists: ``.venv/bin/python scripts/plugin_imports.py``.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from fame_desktop.orchestrator.paths import builtin_plugin_dir  # noqa: E402
from fame_desktop.orchestrator.plugin_loader import load_plugins  # noqa: E402


@dataclass
class PluginImports:
    """The plugins found and the modules they need."""

    plugins: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    local_modules: set[str] = field(default_factory=set)  # core.* helper modules
    stdlib: set[str] = field(default_factory=set)
    third_party: set[str] = field(default_factory=set)  # top-level package names


def _imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # ``from core._lib import x`` may name a submodule.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _local_file(module: str, root: Path) -> Path | None:
    parts = module.split(".")
    for candidate in (root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def plugin_imports(folder: Path | None = None) -> PluginImports:
    """Discover and load the plugins of ``folder`` (default: the built-in ``core/``) and collect imports."""
    folder = folder or builtin_plugin_dir()
    root = folder.parent  # ``core`` is a package next to ``fame_desktop``
    result = PluginImports()
    records = load_plugins(folder)
    queue: list[Path] = []
    for name, rec in sorted(records.items()):
        if rec.status == "loaded":
            result.plugins.append(name)
            queue.append(rec.path)
        else:
            result.failed[name] = rec.error or rec.status
    seen: set[Path] = set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imports_of(path):
            top = module.split(".")[0]
            if top == folder.name:
                local = _local_file(module, root)
                if local is not None:
                    result.local_modules.add(module)
                    queue.append(local)
            elif top in sys.stdlib_module_names or top == "__future__":
                result.stdlib.add(module)
            elif top not in ("fame_desktop", "fame_plugin_api"):  # both ship whole (see fame.spec)
                result.third_party.add(top)
    # ``from x import name`` adds ``x.name`` in case it is a submodule; keep only real modules.
    result.stdlib = {m for m in result.stdlib if m != "__future__" and _is_module(m)}
    # Parent packages of helper modules must be importable too.
    for module in list(result.local_modules):
        parts = module.split(".")
        result.local_modules.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return result


if __name__ == "__main__":
    found = plugin_imports()
    print("plugins:", ", ".join(found.plugins))
    print("failed:", found.failed or "none")
    print("core modules:", ", ".join(sorted(found.local_modules)))
    print("stdlib:", ", ".join(sorted(found.stdlib)))
    print("third party:", ", ".join(sorted(found.third_party)))
