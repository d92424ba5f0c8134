"""Sandbox benchmark against the real Docker engine (start it with scripts/docker_up.sh and build
the image with scripts/build_sandbox_image.sh first).

Prints, for ``print(1)``, the round trip from ``DockerManager.run`` to the report: p50 and p95 for
a warm-pool run, for the manager's cold path (a fresh container), and for a cold hardened
``containers.run`` of the same image through the Docker SDK, all measured in the same run, with
the warm/cold ratios (goal: warm p50 <= 30 ms and >= 7x faster than cold). Then runs/second for
8 parallel warm runs vs 8 sequential cold ``containers.run``, output throughput (lines/s delivered
to bus subscribers) and the app's peak RSS while a program prints 300 MB.

Usage: .venv/bin/python benchmarks/bench_sandbox.py [--runs 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import docker

from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.events import EventBus, SandboxOutput
from fame_desktop.orchestrator.sandbox import DockerManager, Limits
from fame_desktop.orchestrator.sandbox.limits import host_config
from fame_desktop.orchestrator.settings import SettingsStore

IMAGE = "fame-sandbox:latest"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def line(name: str, values: list[float]) -> str:
    return f"{name:<34} p50 {statistics.median(values):8.1f} ms   p95 {percentile(values, 95):8.1f} ms   (n={len(values)})"


class Rss:
    """Samples this process's resident memory in a thread; ``peak_mb`` after ``stop``."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def now() -> int:
        for row in Path("/proc/self/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) * 1024
        return 0

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(0.01)

    def __enter__(self) -> Rss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def make_manager(root: Path, **sandbox: Any) -> tuple[DockerManager, AuditLog, EventBus]:
    settings = SettingsStore(root / "settings.json")  # save() creates the folder
    settings.update({f"sandbox.{k}": v for k, v in sandbox.items()}, admin=True)
    bus = EventBus()
    bus.bind_loop(asyncio.get_running_loop())
    audit = AuditLog(root / "audit.db")
    manager = DockerManager(
        lambda: settings.settings.sandbox,
        lambda: settings.settings.network.allow_network,
        bus.publish,
        audit.append,
    )
    await manager.start()
    return manager, audit, bus


async def wait_pool(manager: DockerManager, ready: int) -> None:
    deadline = time.monotonic() + 60
    while manager.status()["pool"]["ready"] < ready:
        if time.monotonic() > deadline:
            raise SystemExit(f"warm pool never filled: {manager.status()}")
        await asyncio.sleep(0.01)


def cold_sdk_run(client: Any) -> float:
    """A cold hardened ``containers.run`` of ``print(1)`` (same limits as the sandbox), in ms."""
    kwargs = host_config(
        Limits.from_settings(SettingsStore(Path("/nonexistent/settings.json")).settings.sandbox)
    )
    kwargs.pop("ulimits")
    kwargs.pop("log_config")
    started = time.perf_counter()
    out = client.containers.run(
        IMAGE, ["python3", "-c", "print(1)"], user="65534:65534", network_disabled=True, remove=True,
        stdout=True, stderr=True, **kwargs,
    )  # fmt: skip
    elapsed = (time.perf_counter() - started) * 1000
    assert out.strip() == b"1", out
    return elapsed


async def main(runs: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="fame-bench-sandbox-"))
    client = docker.from_env(version="1.41")
    manager, audit, bus = await make_manager(
        root / "a", pool_size=8, max_concurrency=8, output_limit_bytes=64_000_000
    )
    try:
        await wait_pool(manager, 8)
        for _ in range(3):  # warm-up of caches on every path
            await manager.run("print(1)")
            cold_sdk_run(client)
        warm: list[float] = []
        cold_manager: list[float] = []
        cold_sdk: list[float] = []
        for _ in range(runs):
            await wait_pool(manager, 8)
            started = time.perf_counter()
            report = await manager.run("print(1)")
            warm.append((time.perf_counter() - started) * 1000)
            assert report.warm and report.stdout == "1\n", report.to_dict()
            cold_sdk.append(cold_sdk_run(client))
        for _ in range(max(10, runs // 5)):
            started = time.perf_counter()
            report = await manager.run("print(1)", memory="511m")  # other limits than the pool's: cold
            cold_manager.append((time.perf_counter() - started) * 1000)
            assert not report.warm and report.stdout == "1\n"
        print("== print(1): round trip from DockerManager.run to the report ==")
        print(line("warm pool", warm))
        print(line("cold (manager, fresh container)", cold_manager))
        print(line("cold containers.run (SDK)", cold_sdk))
        ratio = statistics.median(cold_sdk) / statistics.median(warm)
        print(f"ratio cold containers.run / warm (p50): {ratio:.1f}x   (goal >= 7x, warm p50 <= 30 ms)")
        print(
            f"ratio cold manager / warm (p50):        {statistics.median(cold_manager) / statistics.median(warm):.1f}x"
        )

        await wait_pool(manager, 8)
        started = time.perf_counter()
        reports = await asyncio.gather(*(manager.run("print(1)") for _ in range(8)))
        parallel = time.perf_counter() - started
        assert all(r.status == "ok" for r in reports)
        started = time.perf_counter()
        for _ in range(8):
            cold_sdk_run(client)
        sequential = time.perf_counter() - started
        print("== 8 runs of print(1) ==")
        print(f"parallel warm:           {8 / parallel:7.1f} runs/s ({parallel * 1000:.0f} ms)")
        print(f"sequential cold (SDK):   {8 / sequential:7.1f} runs/s ({sequential * 1000:.0f} ms)")
        print(f"ratio: {sequential / parallel:.1f}x")

        lines = 0

        def count(event: SandboxOutput) -> None:
            nonlocal lines
            lines += event.text.count("\n")

        sub = bus.subscribe(SandboxOutput, count)
        started = time.perf_counter()
        report = await manager.run("for i in range(500000):\n    print(i)\n", timeout=120)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.1)
        sub.cancel()
        print("== output ==")
        print(
            f"throughput: {lines / elapsed:,.0f} lines/s delivered to subscribers "
            f"({lines} lines in {elapsed:.2f} s, truncated={report.stdout_truncated})"
        )
        big, big_audit, _ = await make_manager(root / "b", pool_size=0)
        try:
            baseline = Rss.now()
            with Rss() as rss:
                started = time.perf_counter()
                report = await big.run(
                    "import sys\nblock = ('x' * 1023 + '\\n') * 1024\nfor _ in range(300):\n    sys.stdout.write(block)\n",
                    timeout=300,
                )
                elapsed = time.perf_counter() - started
            print(
                f"300 MB of output: {elapsed:.2f} s ({300 / elapsed:.0f} MB/s), status {report.status}, "
                f"kept {len(report.stdout) / 1e6:.1f} MB (truncated={report.stdout_truncated}); app RSS "
                f"{baseline / 2**20:.0f} MB before, peak {rss.peak / 2**20:.0f} MB "
                f"(+{(rss.peak - baseline) / 2**20:.0f} MB)"
            )
        finally:
            await big.close()
            big_audit.close()
    finally:
        await manager.close()
        audit.close()
        client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50, help="Runs per path for the latency figures.")
    asyncio.run(main(parser.parse_args().runs))
