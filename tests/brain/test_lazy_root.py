"""The composition root builds the parts only some commands use on first use, once, for every thread.

``fame ask`` for a calculator query must not build (nor import) the sandbox, code generation,
evolution or voice; whoever asks first builds a part and everyone shares that one object.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fame_desktop.app import App, build_app
from fame_desktop.orchestrator.lazy import Lazy

FAME = str(Path(sys.executable).with_name("fame"))
REPO = Path(__file__).resolve().parents[2]
LAZY_PARTS = (
    "sandbox",
    "promotions",
    "codegen",
    "architecture",
    "evolution",
    "voice",
    "conversations",
    "models",
)


def _built(app: App) -> set[str]:
    return {name for name in LAZY_PARTS if getattr(app.services.lazy, name).built}


def test_lazy_builds_once_for_concurrent_callers() -> None:
    calls: list[int] = []

    def build() -> object:
        calls.append(1)
        time.sleep(0.05)  # the other threads arrive while the first one builds
        return object()

    part: Lazy[object] = Lazy("part", build)
    assert not part.built and part.peek() is None
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(part.get())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 8 and all(o is got[0] for o in got)
    assert part.built and part.peek() is got[0] and "built" in repr(part)


def test_a_failed_build_is_tried_again() -> None:
    attempts: list[int] = []

    def build() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk not ready")
        return "ok"

    part = Lazy("flaky", build)
    with pytest.raises(OSError, match="disk not ready"):
        part.get()
    assert not part.built
    assert part.get() == "ok" and len(attempts) == 2


async def test_a_calculator_query_builds_none_of_the_lazy_parts(tmp_path: Path) -> None:
    app = build_app(tmp_path / "data")
    try:
        response = await app.brain.handle_query({"text": "what is 2+2"})
        assert response["error"] is None and "4" in response["response"]
        assert _built(app) == set()
        # The first reader builds a part, with what it depends on; later readers share it.
        evolution = app.services.evolution
        assert _built(app) == {"sandbox", "promotions", "codegen", "evolution"}
        assert app.services.evolution is evolution and evolution.store is app.services.promotions
        assert app.brain.docker_manager is app.services.sandbox is app.sandbox
    finally:
        await app.aclose()
    assert "voice" not in _built(app) and "conversations" not in _built(app)  # closing builds nothing


async def test_start_services_brings_the_background_parts_up(tmp_path: Path) -> None:
    app = build_app(tmp_path / "data")
    try:
        await app.brain.start()
        assert _built(app) == set()
        await app.brain.start_services()
        assert {"sandbox", "voice", "codegen"} <= _built(app)
        await app.brain.start_services()  # idempotent
    finally:
        await app.aclose()


# Run in a subprocess with these packages made unimportable: the command must still work.
_BLOCKED_RUN = """
import sys
blocked = set(sys.argv[1].split(","))
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError("blocked in this test: " + name)
sys.meta_path.insert(0, Block())
from fame_desktop.cli import main
code = main(sys.argv[2:])
sys.exit(code)
"""


def _run_blocked(blocked: tuple[str, ...], *argv: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAME_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", _BLOCKED_RUN, ",".join(blocked), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_fame_ask_answers_a_calculator_query_without_the_heavy_packages(tmp_path: Path) -> None:
    heavy = ("docker", "requests", "httpx", "fastapi", "uvicorn", "numpy", "llama_cpp", "vosk", "PySide6")
    done = _run_blocked(heavy, "ask", "what is 2+2", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "4" in done.stdout
    # ...and it was audited like every query.
    audit = subprocess.run(
        [FAME, "--data-dir", str(tmp_path), "audit", "--json", "--limit", "10"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert '"query_completed"' in audit.stdout and "what is 2+2" in audit.stdout


# Run a command in a subprocess and write the names of the modules it imported to a file.
_MODULES_RUN = """
import sys
from fame_desktop.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as fh:
    fh.write("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""

#: What a calculator query leaves unimported: heavy packages, pydantic (settings, manifests and the
#: request are checked without it when plainly valid), the parts built on first use, the
#: Prometheus collectors, user plugin hosts, and the built-in plugins it is not routed to.
NOT_FOR_A_CALCULATOR_QUERY = (
    "pydantic",
    "pydantic_core",
    "fame_desktop.orchestrator.query_models",
    "fame_plugin_api.manifest_model",
    "docker",
    "httpx",
    "fastapi",
    "uvicorn",
    "numpy",
    "prometheus_client",
    "fame_desktop.orchestrator.sandbox",
    "fame_desktop.orchestrator.codegen",
    "fame_desktop.orchestrator.evolution",
    "fame_desktop.orchestrator.voice",
    "fame_desktop.orchestrator.conversations",
    "fame_desktop.orchestrator.llm.model_store",
    "fame_desktop.orchestrator.llm.provider",
    "fame_desktop.orchestrator.llm.local_provider",
    "fame_desktop.orchestrator.plugin_process",
    "core._lib.coingecko",
    "core._lib.readability",
    "core._lib.indicators",
)


def test_fame_ask_imports_only_what_a_calculator_query_needs(tmp_path: Path) -> None:
    listing = tmp_path / "modules.txt"
    env = {**os.environ, "FAME_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _MODULES_RUN, str(listing), "ask", "what is 2+2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "4" in done.stdout
    imported = set(listing.read_text().split())
    loaded = sorted(
        name
        for name in imported
        if any(name == lazy or name.startswith(lazy + ".") for lazy in NOT_FOR_A_CALCULATOR_QUERY)
    )
    assert loaded == [], f"fame ask 'what is 2+2' imported {loaded}"
    # The plugin it was routed to was imported (so the listing above is of a real run).
    assert "core._lib.safe_eval" in imported and "fame_desktop.orchestrator.brain" in imported


def test_fame_help_loads_no_part_of_the_app(tmp_path: Path) -> None:
    # Not the settings models, pydantic, the plugin API or asyncio: only the table of commands
    # (nor logging and dataclasses, which nothing there needs).
    blocked = ("pydantic", "fame_plugin_api", "sqlite3", "asyncio", "logging", "dataclasses")
    done = _run_blocked(blocked, "--help", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ask" in done.stdout and "Ask the Brain one question." in done.stdout


def test_fame_ask_help_and_usage_errors_load_no_part_of_the_app(tmp_path: Path) -> None:
    # The ask parser lists the intents (fame_plugin_api.intents), not the manifest model.
    blocked = ("pydantic", "sqlite3", "asyncio")
    done = _run_blocked(blocked, "ask", "--help", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--intent" in done.stdout and "calculate" in done.stdout
    done = _run_blocked(blocked, "ask", "--intent", "calculate", home=tmp_path)
    assert done.returncode == 2 and "the following arguments are required: text" in done.stderr
