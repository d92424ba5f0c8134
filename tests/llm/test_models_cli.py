"""``fame models ...`` as a user runs it: real subprocesses over a data dir, a server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fame_cli import run_fame
from gguf_files import truncated_copy, write_gguf
from model_server import Served, serve
from tiny_gguf import write_tiny_gguf

FAME = str(Path(sys.executable).with_name("fame"))


def fame(data_dir: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAME_HOME": str(data_dir)}
    env.pop("FAME_ADMIN_KEY", None)
    if key:
        env["FAME_ADMIN_KEY"] = key
    return run_fame(*args, env=env, timeout=120)


def fame_tty(data_dir: Path, *args: str, key: str) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal (as in a shell); returns (exit code, what stderr showed)."""
    master, slave = pty.openpty()
    env = {**os.environ, "FAME_HOME": str(data_dir), "FAME_ADMIN_KEY": key}
    proc = subprocess.Popen([FAME, *args], stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    proc.wait(timeout=60)
    assert proc.stdout is not None
    proc.stdout.close()
    return proc.returncode, shown.decode(errors="replace")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Served]]:
    with serve() as (base, served):
        served.files["/cli-model.gguf"] = write_tiny_gguf(tmp_path / "served.gguf", width=256).read_bytes()
        yield base, served


@pytest.mark.slow
def test_the_model_commands_end_to_end(data_dir: Path, tmp_path: Path, server: tuple[str, Served]) -> None:
    base, served = server
    listed = fame(data_dir, "models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    catalog = json.loads(listed.stdout)
    assert catalog["active"] == "" and catalog["installed"] == []
    assert {r["id"] for r in catalog["catalog"]} >= {"qwen2.5-coder-0.5b-instruct-q4_k_m"}
    assert all(r["pinned"] and len(r["sha256"]) == 64 for r in catalog["catalog"])

    # The network is off: a catalog model on the internet is refused with the fix.
    refused = fame(data_dir, "models", "download", "qwen2.5-coder-0.5b-instruct-q4_k_m")
    assert refused.returncode == 2 and "needs the network, which is off" in refused.stderr

    # An arbitrary URL needs an admin key; with one it downloads, shows progress and becomes active.
    url = f"{base}/cli-model.gguf"
    assert "needs an admin key" in fame(data_dir, "models", "download", url).stderr
    init = fame(data_dir, "admin", "init")
    key = next(w for w in init.stdout.split() if w.startswith("fame_"))
    served.cut_after = 40_000  # the first attempt is cut halfway
    cut = fame(data_dir, "models", "download", url, key=key)
    assert cut.returncode == 2 and "interrupted after 40000 bytes" in cut.stderr
    code, shown = fame_tty(data_dir, "models", "download", url, key=key)
    assert code == 0, shown
    assert "\rdownloading cli-model.gguf" in shown and "/s" in shown and "done cli-model.gguf" in shown
    assert served.ranges[-1] == "bytes=40000-"

    # Import: a good file, then bad ones that change nothing.
    good = write_tiny_gguf(tmp_path / "second.gguf", seed=1)
    imported = fame(data_dir, "models", "import", str(good), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["activated"] is False
    for bad, expected in (
        (truncated_copy(good, tmp_path / "cut.gguf", 0.5), "truncated"),
        (tmp_path, "is a folder"),
        # The header is fine but the weights are missing: llama.cpp refuses it in a child process.
        (write_gguf(tmp_path / "hollow.gguf"), "llama.cpp cannot load hollow.gguf"),
    ):
        result = fame(data_dir, "models", "import", str(bad))
        assert result.returncode == 2 and expected in result.stderr and "fix:" in result.stderr

    state = json.loads(fame(data_dir, "models", "list", "--json").stdout)
    assert state["active"] == "cli-model.gguf"
    assert sorted(m["name"] for m in state["installed"]) == ["cli-model.gguf", "second.gguf"]

    used = fame(data_dir, "models", "use", "second")
    assert used.returncode == 0 and "using second.gguf (llama" in used.stdout
    removed = fame(data_dir, "models", "remove", "second.gguf")
    assert removed.returncode == 0 and "none is active now" in removed.stdout
    assert json.loads(fame(data_dir, "models", "list", "--json").stdout)["active"] == ""
    assert (
        "No installed model is called 'second.gguf'" in fame(data_dir, "models", "use", "second.gguf").stderr
    )

    audit = json.loads(fame(data_dir, "audit", "--json", "--limit", "100").stdout)
    audited = [e["kind"] for e in (audit if isinstance(audit, list) else audit["entries"])]
    for kind in ("model_download", "model_import", "model_use", "model_remove", "model_refused"):
        assert kind in audited, kind


@pytest.mark.slow
def test_ctrl_c_pauses_a_download_and_the_next_run_resumes_it(
    tmp_path: Path, server: tuple[str, Served]
) -> None:
    base, served = server
    data = tmp_path / "elsewhere"  # global options after the subcommand, as for every command
    init = subprocess.run(
        [FAME, "admin", "init", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    key = next(w for w in init.stdout.split() if w.startswith("fame_"))
    served.throttle, served.chunk = 0.05, 16 * 1024
    url = f"{base}/cli-model.gguf"
    part = data / "llm_models" / ".cli-model.gguf.part"
    env = {k: v for k, v in os.environ.items() if k not in ("FAME_HOME", "FAME_ADMIN_KEY")}
    cmd = [FAME, "models", "download", url, "--data-dir", str(data), "--admin-key", key]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not part.exists() or part.stat().st_size < 64 * 1024):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    kept = part.stat().st_size
    assert 64 * 1024 <= kept < len(served.files["/cli-model.gguf"])
    served.throttle = 0.0
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=120, check=False, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["resumed_from"] == kept and result["activated"] is True
    assert served.ranges[-1] == f"bytes={result['resumed_from']}-"
    assert not part.exists() and (data / "llm_models" / "cli-model.gguf").is_file()
