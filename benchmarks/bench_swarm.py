"""Swarm sandbox benchmark: the per-job overhead of ``print(1)`` as a Swarm job against the local
warm pool and against cold local runs, all measured in this run on this machine's engine.

Each figure is the round trip from ``run`` to the report (what a caller waits), sequential runs,
median and p95 with n; the ratios are Swarm / warm and Swarm / cold. For Swarm it also splits the
time into queued (service created until its task runs: scheduling, network attachment, container
start) and the rest, and measures jobs/second for ``--parallel`` concurrent jobs.

The engine must be running with the sandbox image (scripts/docker_up.sh,
scripts/build_sandbox_image.sh). When it is not in a swarm, this script runs ``docker swarm init
--advertise-addr 127.0.0.1`` and ``docker swarm leave --force`` at the end; an existing swarm is
used as it is (jobs go to any of its nodes). Takes about a minute on a quiet machine.

Usage: .venv/bin/python benchmarks/bench_swarm.py [--runs 10] [--parallel 8]

A 64-candidate evolution generation on a one-node Swarm against a two-node one (a second engine
in a network namespace, started by the benchmark): benchmarks/bench_swarm_generation.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.sandbox import DockerManager, Sandbox
from fame_desktop.orchestrator.sandbox.swarm_backend import SwarmSandbox
from fame_desktop.orchestrator.settings import SettingsStore


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<36} p50 {statistics.median(values):8.1f} ms   p95 {percentile(values, 95):8.1f} ms"
        f"   (n={len(values)})"
    )


def swarm_state() -> str:
    out = subprocess.run(
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip()


async def build(root: Path, backend: str, **sandbox: Any) -> tuple[Sandbox, AuditLog]:
    settings = SettingsStore(root / "settings.json")
    settings.update(
        {"sandbox.backend": backend, **{f"sandbox.{k}": v for k, v in sandbox.items()}}, admin=True
    )
    bus = EventBus()
    bus.bind_loop(asyncio.get_running_loop())
    audit = AuditLog(root / "audit.db")
    kind = SwarmSandbox if backend == "swarm" else DockerManager
    made: Sandbox = kind(
        lambda: settings.settings.sandbox,
        lambda: settings.settings.network.allow_network,
        bus.publish,
        audit.append,
    )
    await made.start()
    deadline = time.monotonic() + 60
    while not made.status()["available"]:
        if time.monotonic() > deadline:
            raise SystemExit(f"{backend} sandbox unavailable: {made.status()['detail']}")
        await asyncio.sleep(0.05)
    return made, audit


async def sequential(
    sandbox: Sandbox, n: int, settle: float = 0.0
) -> tuple[list[float], list[dict[str, Any]]]:
    """``n`` runs of ``print(1)``, one after the other; their round trips (ms) and reports."""
    times: list[float] = []
    reports: list[dict[str, Any]] = []
    for _ in range(n):
        if settle:
            await asyncio.sleep(settle)  # the warm pool refills between runs, as between queries
        started = time.perf_counter()
        report = await sandbox.run("print(1)")
        times.append((time.perf_counter() - started) * 1000)
        if report.status != "ok" or report.stdout != "1\n":
            raise SystemExit(
                f"a {report.backend} run failed: {report.status} {report.detail} {report.stderr[-300:]}"
            )
        reports.append(report.to_dict())
    return times, reports


async def measure(args: argparse.Namespace) -> None:
    """Measure and print every figure."""
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
        warm, warm_audit = await build(root / "warm", "docker", pool_size=2)
        await sequential(warm, 2, settle=0.5)  # first runs pay imports and the pool's fill
        warm_ms, _ = await sequential(warm, args.runs * 2, settle=0.3)
        await warm.close()
        cold, cold_audit = await build(root / "cold", "docker", pool_size=0)
        await sequential(cold, 1)
        cold_ms, _ = await sequential(cold, args.runs)
        await cold.close()
        swarm, swarm_audit = await build(root / "swarm", "swarm", max_concurrency=max(4, args.parallel))
        await sequential(swarm, 1)
        swarm_ms, reports = await sequential(swarm, args.runs)
        nodes = sorted({r["node"] for r in reports})
        queued = [float(r["queued_ms"]) for r in reports]
        started = time.perf_counter()
        together = await asyncio.gather(*(swarm.run("print(1)") for _ in range(args.parallel)))
        wall = time.perf_counter() - started
        ok = sum(1 for r in together if r.status == "ok")
        spread = sorted({r.node for r in together if r.node})
        await swarm.close()
        for audit in (warm_audit, cold_audit, swarm_audit):
            audit.close()
    print()
    print("== print(1): round trip from run() to the report, sequential ==")
    print(line("local warm pool (docker, pool 2)", warm_ms))
    print(line("local cold (docker, pool 0)", cold_ms))
    print(line(f"swarm job ({len(nodes)} node(s): {', '.join(nodes)})", swarm_ms))
    print(line("  of which queued (created->running)", queued))
    swarm_p50 = statistics.median(swarm_ms)
    print(f"swarm / warm pool: {swarm_p50 / statistics.median(warm_ms):.1f}x   "
          f"swarm / cold local: {swarm_p50 / statistics.median(cold_ms):.1f}x")  # fmt: skip
    print()
    print(f"== {args.parallel} concurrent swarm jobs ==")
    print(
        f"{ok}/{args.parallel} ok in {wall:.2f} s: {args.parallel / wall:.2f} jobs/s on node(s) {', '.join(spread)}"
    )
    print(f"\nload average (1 min) at end: {os.getloadavg()[0]:.2f}; took {time.monotonic() - began:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="Sequential runs per path (default 10).")
    parser.add_argument("--parallel", type=int, default=8, help="Concurrent Swarm jobs (default 8).")
    args = parser.parse_args()
    made_swarm = swarm_state() != "active"
    if made_swarm:
        print("The engine is not in a swarm: docker swarm init --advertise-addr 127.0.0.1 (left at the end).")
        subprocess.run(
            ["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], check=True, capture_output=True
        )
    try:
        asyncio.run(measure(args))
    finally:
        if made_swarm:
            subprocess.run(["docker", "swarm", "leave", "--force"], capture_output=True)


if __name__ == "__main__":
    main()
