"""A 64-candidate evolution generation on a one-node Swarm against a two-node one.

The same generation (the factorial recipe's reference, alternatives and mutants: 64 programs,
each running the recipe's tests and timing its benchmark in the sandbox) is evaluated on the
Swarm backend twice in the same run, with ``sandbox.per_node_concurrency`` jobs per node:

The breeder makes about a dozen distinct programs for this recipe; the 64 are those, repeated.

- one node: the worker is drained (``docker node update --availability drain``), so every job
  runs on the manager;
- two nodes: the worker active again, jobs spread over both.

Prints the wall time of each (median of ``--repeat``), jobs per second, their ratio, where the
jobs ran, and the 1-minute load average. Both nodes here are engines on this one machine, sharing
its cores: the ratio shows what a second node's slots are worth to a generation, not a second
machine's CPUs.

Needs root: it brings up the two-node cluster itself (scripts/swarm_manager_up.sh,
scripts/swarm_worker_up.sh), loads the sandbox image onto the worker, and takes the worker down at
the end unless ``--keep``.

Usage: .venv/bin/python benchmarks/bench_swarm_generation.py [--candidates 64] [--per-node 2] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fcntl
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from fame_desktop.app import App, build_app
from fame_desktop.orchestrator.evolution.evaluate import Evaluator
from fame_desktop.orchestrator.evolution.population import Breeder, alternative_sources
from fame_desktop.orchestrator.settings import SettingsStore

REPO = Path(__file__).resolve().parents[1]
RECIPE = "factorial"


def sh(*cmd: str) -> str:
    """Run a command; its stdout (exit on failure, with its stderr)."""
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-1500:]}")
    return done.stdout


async def ash(*cmd: str) -> str:
    """:func:`sh` off the event loop."""
    return await asyncio.to_thread(sh, *cmd)


async def make_app(root: Path, worker_engine: str, per_node: int) -> App:
    """An app on the Swarm backend with the image on both nodes."""
    settings = SettingsStore(root / "settings.json")
    settings.update(
        {
            "sandbox.backend": "swarm",
            "sandbox.swarm_node_engines": [worker_engine],
            "sandbox.per_node_concurrency": per_node,
        },
        admin=True,
    )
    app = build_app(root)
    await app.brain.start()
    prepared = await app.sandbox.prepare_image()
    if prepared.status != "ok":
        raise SystemExit(f"prepare failed: {prepared.detail}")
    return app


async def set_worker(worker_id: str, availability: str) -> None:
    """Drain or activate the worker, and wait until the manager says so."""
    await ash("docker", "node", "update", "--availability", availability, worker_id)
    deadline = time.monotonic() + 30
    while (
        await ash("docker", "node", "inspect", "-f", "{{.Spec.Availability}}", worker_id)
    ).strip() != availability:
        if time.monotonic() > deadline:
            raise SystemExit(f"the worker did not become {availability}")
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.5)  # the sandbox's node list is at most a second old


async def generation(app: App, candidates: int, parallel: int, label: str) -> tuple[float, Counter[str]]:
    """Wall time of one generation of ``candidates`` (``parallel`` in flight: the sandbox gives
    each a slot on a node, at most ``per_node_concurrency`` per node) and where its jobs ran."""
    recipe = app.services.codegen.library.get(RECIPE)
    distinct = Breeder(random.Random(7)).first(
        recipe.code, candidates, alternatives=alternative_sources(recipe)
    )
    # The breeder keeps distinct programs only (a dozen for this recipe): the generation repeats
    # them, each repeat its own candidate and sandbox run, up to ``candidates``.
    pop = [
        dataclasses.replace(distinct[i % len(distinct)], id=f"{distinct[i % len(distinct)].id}-{i}")
        for i in range(candidates)
    ]
    evaluator = Evaluator(app.sandbox, recipe, concurrency=parallel, timeout=60)
    t0 = time.perf_counter()
    fits = await evaluator.evaluate_all(pop, run_id=f"bench-{label}")
    wall = time.perf_counter() - t0
    bad = [(c.id, f.status) for c, f in zip(pop, fits, strict=True) if not f.tested]
    if bad:
        raise SystemExit(f"{label}: candidates without a genuine test report: {bad[:5]}")
    return wall, Counter(f.node for f in fits)


async def main(args: argparse.Namespace) -> None:
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark starts a second Docker engine in a network namespace")
    await ash(str(REPO / "scripts" / "docker_up.sh"))
    await ash(str(REPO / "scripts" / "build_sandbox_image.sh"))
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in (await ash(str(REPO / "scripts" / "swarm_worker_up.sh"))).splitlines()
        if line.startswith("export ")
    )
    worker, worker_id = exports["FAME_NODE2_ENGINE"], exports["FAME_NODE2_ID"]
    results: dict[str, list[float]] = {"one node": [], "two nodes": []}
    where: dict[str, Counter[str]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = await make_app(Path(tmp), worker, args.per_node)
            try:
                for i in range(args.repeat):
                    # The same number of runs in flight both times: the nodes' slots are the difference.
                    await set_worker(worker_id, "drain")
                    wall, where["one node"] = await generation(
                        app, args.candidates, 2 * args.per_node, f"one-{i}"
                    )
                    results["one node"].append(wall)
                    await set_worker(worker_id, "active")
                    wall, where["two nodes"] = await generation(
                        app, args.candidates, 2 * args.per_node, f"two-{i}"
                    )
                    results["two nodes"].append(wall)
            finally:
                await app.aclose()
    finally:
        await asyncio.to_thread(
            subprocess.run,
            ["docker", "node", "update", "--availability", "active", worker_id],
            capture_output=True,
        )
        if not args.keep:
            await ash(str(REPO / "scripts" / "swarm_worker_down.sh"))
    one, two = (statistics.median(results[k]) for k in ("one node", "two nodes"))
    print(f"{args.candidates}-candidate generation on the Swarm backend, {args.per_node} jobs per node")
    for label, wall in (("one node", one), ("two nodes", two)):
        print(
            f"  {label:<9}  wall {wall:6.2f} s   {args.candidates / wall:5.1f} jobs/s   "
            f"ran on {dict(where[label])}"
        )
    print(f"  ratio one/two nodes: {one / two:.2f}x  (load average 1 min: {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=64)
    parser.add_argument("--per-node", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="leave the worker running at the end")
    # The two-node tests take the worker down and up: one user of it at a time.
    with open("/tmp/fame-node2.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        asyncio.run(main(parser.parse_args()))
    sys.exit(0)
