"""Evolution benchmark against the real Docker sandbox: one generation of 8 candidates.

Measures the same generation (the factorial recipe's reference, its alternatives and
mutants: 8 programs, each running the recipe's tests and timing its benchmark inside the sandbox)
two ways, in the same run and over fresh data dirs:

- warm: a warm pool of ``--pool`` containers (default 8, one per candidate) filled, and the
  candidates evaluated ``--parallel`` at a time, as :class:`EvolutionRunner` does;
- the shipped sandbox settings (pool 2, 4 in parallel): the pool drains after two runs and the
  rest create containers, which shows what the pool size is worth to evolution;
- cold: ``pool_size = 0`` (every run creates its container) and the candidates one after another.

Prints wall time and sandbox runs per second for each (median of ``--repeat`` generations), their
ratio, and checks every candidate reported a genuine test summary both ways.

Usage: .venv/bin/python benchmarks/bench_evolution.py [--pool 8] [--parallel 4] [--repeat 3]
(start Docker with scripts/docker_up.sh and build the image with scripts/build_sandbox_image.sh first)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fame_desktop.app import App, build_app
from fame_desktop.orchestrator.evolution.evaluate import Evaluator
from fame_desktop.orchestrator.evolution.population import Breeder, Candidate, alternative_sources
from fame_desktop.orchestrator.settings import SettingsStore

CANDIDATES = 8
RECIPE = "factorial"


async def make_app(root: Path, **sandbox: Any) -> App:
    """An app whose sandbox uses these settings, started, with its warm pool filled."""
    settings = SettingsStore(root / "settings.json")
    settings.update({f"sandbox.{k}": v for k, v in sandbox.items()}, admin=True)
    app = build_app(root)
    await app.brain.start()
    wanted = int(sandbox.get("pool_size", 0))
    deadline = time.monotonic() + 60
    while True:
        status = app.sandbox.status()
        if status["available"] and status["pool"]["ready"] >= wanted:
            return app
        if time.monotonic() > deadline:
            raise SystemExit(f"the sandbox did not get ready: {status['detail']} {status['pool']}")
        await asyncio.sleep(0.05)


def generation(app: App) -> tuple[Any, list[Candidate]]:
    """The recipe and 8 candidates, as a run's generation 0 (fixed seed: the same programs each time)."""
    recipe = app.services.codegen.library.get(RECIPE)
    pop = Breeder(random.Random(7)).first(recipe.code, CANDIDATES, alternatives=alternative_sources(recipe))
    assert len(pop) == CANDIDATES, len(pop)
    return recipe, pop


async def measure(app: App, parallel: int, repeat: int, label: str) -> list[float]:
    """Wall times of ``repeat`` generations evaluated with ``parallel`` runs in flight."""
    recipe, pop = generation(app)
    walls: list[float] = []
    for i in range(repeat):
        evaluator = Evaluator(app.sandbox, recipe, concurrency=parallel, timeout=30)
        t0 = time.perf_counter()
        fits = await evaluator.evaluate_all(pop, run_id=f"bench-{label}-{i}")
        walls.append(time.perf_counter() - t0)
        bad = [(c.id, f.status, f.failures) for c, f in zip(pop, fits, strict=True) if not f.tested]
        if bad:
            raise SystemExit(f"{label}: candidates without a genuine test report: {bad}")
        # Let the pool refill between generations, as it does while a run records a generation.
        for _ in range(1500):
            pool = app.sandbox.status()["pool"]
            if pool["ready"] >= pool["size"]:
                break
            await asyncio.sleep(0.02)
    return walls


async def run_config(root: Path, label: str, *, pool: int, parallel: int, repeat: int) -> list[float]:
    """Wall times of ``repeat`` generations on a fresh app with this pool and concurrency."""
    app = await make_app(root / label, pool_size=pool, max_concurrency=parallel)
    try:
        if pool:
            await measure(app, parallel, 1, f"{label}-warmup")  # imports and page cache, not counted
        return await measure(app, parallel, repeat, label)
    finally:
        await app.aclose()


def line(label: str, walls: list[float]) -> str:
    wall = statistics.median(walls)
    runs = ", ".join(f"{w * 1000:.0f}" for w in walls)
    return f"  {label:<38} {wall * 1000:6.0f} ms wall  {CANDIDATES / wall:5.1f} sandbox runs/s  (each: {runs} ms)"


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parallel", type=int, default=4, help="Runs in flight (max_concurrency).")
    parser.add_argument("--pool", type=int, default=CANDIDATES, help="Warm pool size.")
    parser.add_argument("--repeat", type=int, default=3, help="Generations measured each way.")
    args = parser.parse_args()
    defaults = SettingsStore(Path("/nonexistent/settings.json")).settings.sandbox
    with tempfile.TemporaryDirectory(prefix="fame-bench-evo-") as tmp:
        root = Path(tmp)
        warm = await run_config(root, "warm", pool=args.pool, parallel=args.parallel, repeat=args.repeat)
        shipped = await run_config(
            root, "defaults", pool=defaults.pool_size, parallel=defaults.max_concurrency, repeat=args.repeat
        )
        cold = await run_config(root, "cold", pool=0, parallel=1, repeat=args.repeat)
    print(
        f"generation of {CANDIDATES} candidates ({RECIPE}: tests + timed benchmark each), median of {args.repeat}"
    )
    print(line(f"warm pool of {args.pool}, {args.parallel} in parallel", warm))
    print(
        line(f"default settings (pool {defaults.pool_size}, {defaults.max_concurrency} in parallel)", shipped)
    )
    print(line("cold (no pool), sequential", cold))
    ratio = statistics.median(cold) / statistics.median(warm)
    print(f"  ratio, cold sequential / warm parallel wall time: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
