"""PyInstaller runtime hook: vosk's 26 MB ``libvosk.so`` ships xz-compressed (``vosk/libvosk.so.xz``, 3 MB).

``vosk`` loads ``libvosk.so`` from the folder of its own ``__file__`` when it is first imported
(the app imports it with the first listen or transcription, never at start). This hook wraps that
one import: it unpacks the library into memory (a memfd; about 0.4 s of CPU), links it from a
private temporary folder, runs vosk's ``__init__`` with ``__file__`` pointing there, and removes
the folder once the library is loaded (the mapping outlives the link). Nothing is written to the
install folder or the data dir, and a layout with a plain ``libvosk.so`` imports as usual.

Standard library only: it runs before the app, in the frozen interpreter.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import lzma
import os
import shutil
import sys
import tempfile
import types
from collections.abc import Sequence
from typing import Any

PACKED = "libvosk.so.xz"
LIBRARY = "libvosk.so"


class _UnpackingLoader(importlib.abc.Loader):
    """Runs ``vosk``'s own loader with the library unpacked next to a stand-in ``__file__``."""

    def __init__(self, loader: Any, packed: str) -> None:
        self._loader = loader
        self._packed = packed

    def __getattr__(self, name: str) -> Any:  # get_code, is_package, get_resource_reader...
        return getattr(self._loader, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: types.ModuleType) -> None:
        folder = tempfile.mkdtemp(prefix="fame-vosk-")
        memory = None
        try:
            memory = _unpack(self._packed, os.path.join(folder, LIBRARY))
            real_file = module.__file__
            module.__file__ = os.path.join(folder, "__init__.py")
            try:
                self._loader.exec_module(module)
            finally:
                module.__file__ = real_file
        finally:
            if memory is not None:
                os.close(memory)  # the loaded library's mapping keeps the memory file alive
            shutil.rmtree(folder, ignore_errors=True)


def _unpack(packed: str, path: str) -> int | None:
    """Decompress ``packed`` into an in-memory file (memfd) linked as ``path`` and return its
    descriptor, or, without memfd, into ``path`` itself (None). In memory, a temporary folder on
    a ``noexec`` mount still serves: only the link is there."""
    try:
        memory = os.memfd_create(LIBRARY, os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        memory = None
    if memory is None:
        with lzma.open(packed) as source, open(path, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        return None
    try:
        with lzma.open(packed) as source, os.fdopen(memory, "wb", closefd=False) as out:
            shutil.copyfileobj(source, out, 1 << 20)
        os.symlink(f"/proc/self/fd/{memory}", path)
    except BaseException:
        os.close(memory)
        raise
    return memory


class VoskUnpacker(importlib.abc.MetaPathFinder):
    """Finds ``vosk`` as the other finders do and wraps its loader when the library is packed."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "vosk":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        for folder in spec.submodule_search_locations or ():
            packed = os.path.join(folder, PACKED)
            if os.path.isfile(packed) and not os.path.exists(os.path.join(folder, LIBRARY)):
                spec.loader = _UnpackingLoader(spec.loader, packed)
                break
        return spec


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, VoskUnpacker) for finder in sys.meta_path):
        sys.meta_path.insert(0, VoskUnpacker())


install()
