"""What a user sees of sandbox runs, against the real Docker engine: output that streams, limits
that hold, reports that say what happened, runs that can be stopped, and an audit trail."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

import pytest
from sandbox_harness import WiredManager, own_containers, wait_no_containers, wait_pool

from fame_desktop.orchestrator.events import SandboxFinished, SandboxOutput, SandboxStarted
from fame_desktop.orchestrator.sandbox import runs as sandbox_runs

pytestmark = pytest.mark.docker

REPORT_KEYS = {
    "status", "exit_code", "stdout", "stderr", "stdout_truncated", "stderr_truncated", "duration_ms",
    "timed_out", "oom_killed", "backend", "image", "limits", "run_id", "detail",
}  # fmt: skip


async def test_a_run_reports_output_apart_as_nobody_on_a_read_only_root(manager: Any) -> None:
    code = (
        "import os, sys\n"
        "print('uid', os.getuid(), 'gid', os.getgid())\n"
        "print('to stderr', file=sys.stderr)\n"
        "try:\n    open('/etc/hacked', 'w')\nexcept OSError as e:\n    print('root fs:', e.strerror)\n"
        "open('/tmp/scratch', 'w').write('ok')\nprint('tmp', open('/tmp/scratch').read())\n"
    )
    report = (await manager.run(code)).to_dict()
    assert set(report) >= REPORT_KEYS
    assert report["status"] == "ok" and report["exit_code"] == 0
    assert report["backend"] == "docker" and report["image"] == "fame-sandbox:latest"
    assert "uid 65534 gid 65534" in report["stdout"]
    assert "root fs: Read-only file system" in report["stdout"]
    assert "tmp ok" in report["stdout"]
    assert report["stderr"] == "to stderr\n"
    assert "to stderr" not in report["stdout"]
    assert report["limits"]["memory"] == "512m" and report["limits"]["network"] is False
    assert not report["timed_out"] and not report["oom_killed"]


async def test_output_streams_while_the_program_runs(manager: Any) -> None:
    chunks: list[tuple[float, str, str]] = []
    started: list[SandboxStarted] = []
    finished: list[SandboxFinished] = []
    manager.bus.subscribe(SandboxOutput, lambda e: chunks.append((time.monotonic(), e.stream, e.text)))
    manager.bus.subscribe(SandboxStarted, started.append)
    manager.bus.subscribe(SandboxFinished, finished.append)
    code = (
        "import sys, time\nprint('first')\nprint('oops', file=sys.stderr)\ntime.sleep(1)\nprint('second')\n"
    )
    report = await manager.run(code, run_id="stream1")
    end = time.monotonic()
    await asyncio.sleep(0.05)
    first = next(t for t, stream, text in chunks if "first" in text)
    assert end - first > 0.8, "the first line must arrive about a second before the run ends"
    assert [s for _, s, t in chunks if "oops" in t] == ["stderr"]
    assert "".join(t for _, s, t in chunks if s == "stdout") == "first\nsecond\n"
    assert report.stdout == "first\nsecond\n"
    assert [e.run_id for e in started] == ["stream1"]
    assert [e.report.status for e in finished] == ["ok"]


async def _run_seeing_chunks(manager: Any, code: str) -> tuple[Any, list[tuple[str, str]]]:
    """Run ``code``; its report and the (stream, text) chunks subscribers saw, in order."""
    events: list[tuple[str, str]] = []
    sub = manager.bus.subscribe(SandboxOutput, lambda e: events.append((e.stream, e.text)))
    report = await manager.run(code)
    await asyncio.sleep(0.05)
    sub.cancel()
    return report, events


async def test_a_print_loop_arrives_in_batches_in_order_and_nothing_is_lost_when_it_crashes(
    manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One write per line (the sandbox's Python is unbuffered) used to cross the engine as one
    # message each, keeping its shim and daemon busy on every core while the window starved.
    runs: list[Any] = []

    class Recorded(sandbox_runs.ContainerRun):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            runs.append(self)

    monkeypatch.setattr(sandbox_runs, "ContainerRun", Recorded)
    code = (
        "import os, signal, sys\n"
        "for i in range(50000):\n"
        "    print('line', i)\n"
        "    if i == 24999:\n"
        "        print('warning between 24999 and 25000', file=sys.stderr)\n"
        "print('last words before a crash')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    report, events = await _run_seeing_chunks(manager, code)
    expected = "".join(f"line {i}\n" for i in range(50000)) + "last words before a crash\n"
    assert report.exit_code == 137 and report.stdout == expected
    assert report.stderr == "warning between 24999 and 25000\n"
    assert len(runs) == 1 and runs[0].frames < 500, f"{runs[0].frames} engine messages for 50,001 writes"
    # The stderr line came after line 24999 and before line 25000, as the program wrote them.
    at = next(i for i, (stream, _) in enumerate(events) if stream == "stderr")
    before = "".join(text for stream, text in events[:at] if stream == "stdout")
    assert before.endswith("line 24999\n"), before[-40:]


async def test_stdout_and_stderr_arrive_in_the_order_the_program_wrote_them(manager: Any) -> None:
    code = (
        "import sys\n"
        "for i in range(20000):\n"
        "    print('out', i)\n"
        "    if i % 7 == 0:\n"
        "        print('err', i, file=sys.stderr)\n"
        "    if i % 1000 == 999:\n"
        "        sys.stderr.write(''.join(f'burst {i} {j}\\n' for j in range(500)))\n"
    )
    report, events = await _run_seeing_chunks(manager, code)
    assert report.status == "ok"
    expected = []
    for i in range(20000):
        expected.append(("stdout", f"out {i}"))
        if i % 7 == 0:
            expected.append(("stderr", f"err {i}"))
        if i % 1000 == 999:
            expected.extend(("stderr", f"burst {i} {j}") for j in range(500))
    seen: list[tuple[str, str]] = []
    partial = {"stdout": "", "stderr": ""}  # a chunk may end mid-line
    for stream, text in events:
        *lines, partial[stream] = (partial[stream] + text).split("\n")
        seen.extend((stream, line) for line in lines)
    assert len(seen) == len(expected)
    wrong = next((i for i, (a, b) in enumerate(zip(seen, expected, strict=True)) if a != b), None)
    assert wrong is None, f"line {wrong}: got {seen[wrong]}, the program wrote {expected[wrong]}"


async def test_a_waiting_program_costs_no_cpu_even_after_closing_inherited_descriptors(manager: Any) -> None:
    # The container's CPU time (the program and the runner relaying its output) over 1 s of sleep.
    code = (
        "import os, time\n"
        "def used():\n"
        "    for path in ('/sys/fs/cgroup/cpu.stat', '/sys/fs/cgroup/cpuacct/cpuacct.usage',\n"
        "                 '/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage'):\n"
        "        try:\n"
        "            text = open(path).read()\n"
        "        except OSError:\n"
        "            continue\n"
        "        if path.endswith('cpu.stat'):\n"
        "            return int(text.split('usage_usec ')[1].split()[0]) / 1e6\n"
        "        return int(text) / 1e9\n"
        "os.closerange(3, 4096)  # as daemons do\n"
        "start = used()\n"
        "time.sleep(1)\n"
        "print('cpu', used() - start)\n"
    )
    report = await manager.run(code)
    assert report.status == "ok", report.to_dict()
    assert float(report.stdout.split()[1]) < 0.1, report.stdout


async def test_timeout_kills_the_program_and_removes_the_container(manager: Any, docker_client: Any) -> None:
    started = time.monotonic()
    report = await manager.run("import time\nprint('going to sleep')\ntime.sleep(600)", timeout=1.5)
    assert report.status == "timeout" and report.timed_out
    assert time.monotonic() - started < 8
    assert report.stdout == "going to sleep\n"
    await manager.close()
    assert wait_no_containers(docker_client) == []


async def test_memory_hog_is_oom_killed(manager: Any) -> None:
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))\n"
    report = await manager.run(code, memory="96m", timeout=30)
    assert report.status == "oom", report.to_dict()
    assert report.oom_killed and report.exit_code == 137


async def test_output_is_capped_and_flagged(make_manager: Any) -> None:
    manager = await make_manager(output_limit_bytes=4096, pool_size=0)
    report = await manager.run(
        "import sys\nfor i in range(200000):\n    print('line', i)\nprint('e' * 99999, file=sys.stderr)"
    )
    assert report.status == "ok"
    assert report.stdout_truncated and report.stderr_truncated
    assert len(report.stdout.encode()) <= 4096 and len(report.stderr.encode()) <= 4096
    assert report.stdout.startswith("line 0\nline 1\n")


async def test_invalid_utf8_is_replaced(manager: Any) -> None:
    report = await manager.run("import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe end\\n')")
    assert report.status == "ok"
    assert report.stdout == "ok \ufffd\ufffd end\n"


async def test_errors_and_exit_codes(manager: Any) -> None:
    report = await manager.run("raise ValueError('boom')")
    assert report.status == "error" and report.exit_code == 1
    assert "ValueError: boom" in report.stderr and "runner.py" not in report.stderr
    report = await manager.run("import sys\nsys.exit(3)")
    assert report.status == "error" and report.exit_code == 3
    report = await manager.run("def broken(:\n")
    assert report.status == "error" and "SyntaxError" in report.stderr


async def test_cancel_kills_a_run(manager: Any) -> None:
    task = asyncio.create_task(manager.run("import time\nwhile True: time.sleep(0.1)", run_id="stopme"))
    deadline = time.monotonic() + 20
    while manager.status()["running"] == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert await manager.cancel("stopme") is True
    report = await asyncio.wait_for(task, 10)
    assert report.status == "killed" and report.detail
    assert await manager.cancel("no-such-run") is False


async def test_cancel_while_a_cold_container_is_starting_is_not_lost(make_manager: Any) -> None:
    # No warm pool: the cancel lands while the container is created or started, when the engine
    # refuses to kill it; the run must still end as killed, not run on until its timeout.
    manager = await make_manager(pool_size=0, timeout_seconds=60)
    for attempt in range(3):
        run_id = f"early-{attempt}"
        task = asyncio.create_task(manager.run("import time\nwhile True: time.sleep(0.1)", run_id=run_id))
        deadline = time.monotonic() + 20
        while manager.status()["running"] == 0:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.001)
        assert await manager.cancel(run_id) is True
        report = await asyncio.wait_for(task, 15)
        assert report.status == "killed", report.to_dict()


async def test_parallel_runs(make_manager: Any) -> None:
    manager = await make_manager(max_concurrency=4, pool_size=4)
    await wait_pool(manager, 4)
    code = "import time\ntime.sleep(1)\nprint('done')"
    started = time.monotonic()
    reports = await asyncio.gather(*(manager.run(code) for _ in range(4)))
    elapsed = time.monotonic() - started
    assert [r.status for r in reports] == ["ok"] * 4
    assert elapsed < 3.5, f"4 runs of 1 s took {elapsed:.1f} s: they did not run in parallel"


async def test_warm_run_is_fast(make_manager: Any) -> None:
    manager = await make_manager(pool_size=1)
    await wait_pool(manager, 1)
    warm = await manager.run("print(1)")
    cold = await manager.run("print(1)", memory="256m")  # other limits than the pool's: a cold start
    assert warm.warm and not cold.warm
    assert warm.stdout == cold.stdout == "1\n"
    assert warm.duration_ms < cold.duration_ms  # the benchmark measures by how much


async def test_each_run_gets_a_fresh_container(make_manager: Any) -> None:
    manager = await make_manager(pool_size=2)
    await wait_pool(manager, 2)
    first = await manager.run(
        "open('/tmp/left-behind', 'w').write('secret')\nimport socket\nprint(socket.gethostname())"
    )
    second = await manager.run("import os\nprint(os.path.exists('/tmp/left-behind'))")
    assert first.status == second.status == "ok"
    assert second.stdout == "False\n"


async def test_every_run_is_audited(manager: Any) -> None:
    code = "print('api_key=sk-abcdefghijklmnopqrstuvwx')"
    report = await manager.run(code, query_id="q-1")
    entries = [e.data for e in manager.audit_log.query(kinds=["sandbox_run"])]
    assert len(entries) == 1
    data = entries[0]
    assert data["code_sha256"] == hashlib.sha256(code.encode()).hexdigest()
    assert data["status"] == "ok" and data["run_id"] == report.run_id and data["query_id"] == "q-1"
    assert data["limits"]["memory"] == "512m"
    assert "sk-abcdefghijklmnopqrstuvwx" not in json.dumps(data), "secrets in output must be redacted"


async def test_close_removes_the_pool_promptly(make_manager: Any, docker_client: Any) -> None:
    manager = await make_manager(pool_size=3)
    await wait_pool(manager, 3)
    assert len(own_containers(docker_client)) >= 3
    started = time.monotonic()
    await manager.close()
    assert time.monotonic() - started < 5
    assert own_containers(docker_client) == []


def test_seed_call_is_synchronous(engine_ready: None, tmp_path: Any) -> None:
    from fame_desktop.orchestrator.events import EventBus
    from fame_desktop.orchestrator.settings import SettingsStore

    manager = WiredManager(SettingsStore(tmp_path / "s.json"), EventBus())
    try:
        report = manager.run_code_in_container("print(6 * 7)", timeout_seconds=10, cpu_quota=25000)
        assert report["status"] == "ok" and report["stdout"] == "42\n"
        assert report["limits"]["cpus"] == 0.25
    finally:
        asyncio.run(manager.close())


async def test_a_dead_warm_container_falls_back_to_a_fresh_one(make_manager: Any, docker_client: Any) -> None:
    manager = await make_manager(pool_size=1)
    await wait_pool(manager, 1)
    for info in own_containers(docker_client):
        if info["Labels"].get("fame.sandbox.kind") == "warm":
            docker_client.api.kill(info["Id"])  # as if the engine restarted under the pool
    report = await manager.run("print('still fine')")
    assert report.status == "ok" and report.stdout == "still fine\n" and not report.warm
