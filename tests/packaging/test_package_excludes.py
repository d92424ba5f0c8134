"""What fame.spec leaves out (scripts/package_excludes.py) is never used by the app, run from source.

Each probe runs the real code in a fresh interpreter and fails when the app starts to use what the
package leaves out; a companion test shows the probe notices a use.
"""

from __future__ import annotations

import json
import lzma
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scripts.package_excludes import EXCLUDES, UNUSED_LIBRARIES

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
HOOK = REPO / "scripts" / "pyi_rth_vosk_xz.py"

# Imports everything the packaged app can load: every module of the app and the plugin API, the
# built-in plugins (loaded as the app loads them), and the libraries it imports lazily.
_IMPORT_ALL = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    import fame_desktop, fame_plugin_api
    for package in (fame_desktop, fame_plugin_api):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)
    sys.path.insert(0, "scripts")
    from plugin_imports import plugin_imports
    found = plugin_imports()
    assert not found.failed, found.failed
    for name in ("llama_cpp", "llama_cpp.llama_chat_format", "gguf", "vosk", "sounddevice", "numpy.linalg"):
        importlib.import_module(name)
    print(json.dumps(sorted(sys.modules)))
    """
)


def excluded_imports(modules: list[str], excludes: list[str]) -> list[str]:
    """The ``modules`` that are one of ``excludes`` or inside one."""
    return [m for m in modules if any(m == ex or m.startswith(ex + ".") for ex in excludes)]


def _python(code: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen", **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=cwd,
        env=environ,
        check=False,
    )


def test_the_app_imports_no_excluded_module() -> None:
    result = _python(_IMPORT_ALL)
    assert result.returncode == 0, result.stderr[-3000:]
    modules = json.loads(result.stdout.splitlines()[-1])
    assert "fame_desktop.ui.qt_main_window" in modules and "llama_cpp.llama" in modules
    assert excluded_imports(modules, EXCLUDES) == []


def test_excluded_imports_notices_an_excluded_module() -> None:
    modules = ["numpy", "numpy.linalg", "numpy.ma.core", "richtext", "rich"]
    assert excluded_imports(modules, ["numpy.ma", "rich"]) == ["numpy.ma.core", "rich"]


_LOCAL_MODEL = textwrap.dedent(
    """
    import sys
    from llama_cpp import Llama
    llm = Llama(model_path=sys.argv[1], n_ctx=256, verbose=False)
    out = llm.create_chat_completion([{"role": "user", "content": "hi"}], max_tokens=4)
    assert out["choices"][0]["message"] is not None
    print("\\n".join(sorted({line.split()[-1] for line in open("/proc/self/maps") if ".so" in line})))
    """
)


def test_a_local_model_chat_loads_no_unused_library(tmp_path: Path, tiny_gguf_path: Path) -> None:
    script = tmp_path / "chat.py"
    script.write_text(_LOCAL_MODEL)
    result = subprocess.run(
        [sys.executable, str(script), str(tiny_gguf_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = {path.replace(os.sep, "/") for path in result.stdout.split()}
    assert any(path.endswith("llama_cpp/lib/libllama.so") for path in loaded), loaded
    unused = [lib for lib in UNUSED_LIBRARIES if any(lib in path for path in loaded)]
    assert unused == []


def _vosk_copy(tmp_path: Path) -> Path:
    """A copy of the vosk package laid out as in the package: ``libvosk.so.xz``, no ``libvosk.so``."""
    import vosk

    source = Path(vosk.__file__).parent
    site = tmp_path / "site"
    shutil.copytree(source, site / "vosk", ignore=shutil.ignore_patterns("libvosk.so", "__pycache__"))
    (site / "vosk" / "libvosk.so.xz").write_bytes(
        lzma.compress((source / "libvosk.so").read_bytes(), preset=1)  # fast: only the format matters
    )
    return site


_IMPORT_VOSK = textwrap.dedent(
    """
    import runpy, sys
    if sys.argv[1] == "hook":
        runpy.run_path(sys.argv[2])
    import vosk
    vosk.SetLogLevel(-1)  # a call into libvosk
    print(vosk.__file__)
    """
)


def test_packed_vosk_library_loads_through_the_runtime_hook(tmp_path: Path) -> None:
    site = _vosk_copy(tmp_path)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "TMPDIR": str(temp)}
    run = [sys.executable, "-c", _IMPORT_VOSK]
    result = subprocess.run(
        [*run, "hook", str(HOOK)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # vosk keeps its own __file__, and the unpacked copy is gone once the library is loaded.
    assert result.stdout.strip() == str(site / "vosk" / "__init__.py")
    assert list(temp.iterdir()) == []
    # Without the hook the packed layout cannot load: the hook is what makes it work.
    bare = subprocess.run([*run, "none"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert bare.returncode != 0 and "libvosk.so" in bare.stderr
