"""What a user plugin is made of, read once: its file (or package folder), and the hash approved.

A plugin is one ``.py`` file, or a package folder with an ``__init__.py`` holding the manifest
plus other modules beside it. Everything in the folder is hashed (every file, by relative path and
content), so no module, data file or new file can change without a new approval. The app hands the
host the very sources it hashed; the host never reads the plugin folder.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from fame_plugin_api import ManifestError

#: Largest plugin: one file, or a package's files together.
MAX_PLUGIN_BYTES = 2 << 20
MAX_PACKAGE_FILES = 200
_SKIPPED_DIRS = {"__pycache__", ".git", ".hg", ".svn"}


@dataclass(frozen=True)
class PluginFiles:
    """A plugin's sources as read for approval.

    Attributes:
        main: The source holding the manifest (the file, or the package's ``__init__.py``).
        main_name: Its name in tracebacks (``weather.py``, ``mypkg/__init__.py``).
        modules: A package's other modules, by path relative to the folder (``util/io.py``).
        sha256: The hash an admin approves.
    """

    main: str
    main_name: str
    sha256: str
    modules: dict[str, str] = field(default_factory=dict)


def is_package(path: Path) -> bool:
    """Whether ``path`` is a package plugin (a folder with ``__init__.py``)."""
    return path.is_dir() and (path / "__init__.py").is_file()


def digest(data: bytes) -> str:
    """The hex SHA-256 a one-file plugin is approved by."""
    return hashlib.sha256(data).hexdigest()


def package_digest(files: dict[str, bytes]) -> str:
    """The hex SHA-256 of a package: every file's relative path, size and content, in path order."""
    h = hashlib.sha256()
    for rel in sorted(files):
        data = files[rel]
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def read_plugin(path: Path) -> PluginFiles:
    """Read and hash the plugin at ``path`` (a ``.py`` file or a package folder).

    Raises:
        ManifestError: Unreadable, too large, not UTF-8, or a package with too many files.
    """
    if path.is_dir():
        return _read_package(path)
    data = _read(path, MAX_PLUGIN_BYTES)
    return PluginFiles(main=_text(path.name, data), main_name=path.name, sha256=digest(data))


def _read_package(folder: Path) -> PluginFiles:
    files: dict[str, bytes] = {}
    total = 0
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(names):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            if len(files) >= MAX_PACKAGE_FILES:
                raise ManifestError(f"{folder.name}: more than {MAX_PACKAGE_FILES} files")
            files[rel] = _read(path, MAX_PLUGIN_BYTES - total)
            total += len(files[rel])
    main_name = f"{folder.name}/__init__.py"
    modules = {rel: _text(f"{folder.name}/{rel}", data) for rel, data in files.items() if rel.endswith(".py")}
    main = modules.pop("__init__.py")
    return PluginFiles(main=main, main_name=main_name, sha256=package_digest(files), modules=modules)


def _read(path: Path, limit: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(max(limit, 0) + 1)
    except OSError as exc:
        raise ManifestError(f"{path.name}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise ManifestError(f"{path.name}: the plugin is larger than {MAX_PLUGIN_BYTES} bytes")
    return data


def _text(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{name}: is not UTF-8 text") from exc


def newest_mtime(path: Path) -> float:
    """When the plugin last changed: the file's mtime, or the newest in a package folder."""
    try:
        if not path.is_dir():
            return path.stat().st_mtime
        stamps = [path.stat().st_mtime]
        for root, dirs, names in os.walk(path, followlinks=False):
            dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS]
            stamps.extend((Path(root) / n).stat().st_mtime for n in names)
            stamps.extend((Path(root) / d).stat().st_mtime for d in dirs)
        return max(stamps)
    except OSError:
        return 0.0
