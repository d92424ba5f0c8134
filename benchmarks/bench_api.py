"""Load test of the REST API on loopback: N concurrent clients x M ``POST /query`` (calculate).

Starts a real ``fame serve`` on 127.0.0.1 over a temp data dir (rate limit raised for the
benchmark's key through the settings), measures throughput and latency, checks there were no
errors and that the audit log gained exactly one ``api_request`` and one ``query_completed``
entry per request. The baseline is the same queries asked of an in-process Brain in the same run.

Usage: .venv/bin/python benchmarks/bench_api.py [--clients 8] [--requests 50] [--time-limit 120]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from fame_desktop.app import build_app
from fame_desktop.orchestrator.admin import AdminKeyStore
from fame_desktop.orchestrator.settings import SettingsStore

FAME = str(Path(sys.executable).with_name("fame"))
EXPRESSIONS = ["12 * 12", "7 + 8", "100 / 4", "2 ** 10", "15 percent of 80", "sqrt(144)"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def client_run(
    url: str, key: str, n: int, offset: int, latencies: list[float], errors: list[str]
) -> None:
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=30) as c:
        for i in range(n):
            body = {"text": EXPRESSIONS[(offset + i) % len(EXPRESSIONS)], "intent": "calculate"}
            t0 = time.perf_counter()
            try:
                r = await c.post("/query", json=body)
                ok = r.status_code == 200 and r.json()["error"] is None
                if not ok:
                    errors.append(f"{r.status_code} {r.text[:120]}")
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
            latencies.append((time.perf_counter() - t0) * 1000)


async def baseline(data_dir: Path, n: int) -> list[float]:
    app = build_app(data_dir)
    await app.brain.start()
    out = []
    try:
        for i in range(n):
            t0 = time.perf_counter()
            await app.brain.handle_query({"text": EXPRESSIONS[i % len(EXPRESSIONS)], "intent": "calculate"})
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        await app.aclose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=50, help="Requests per client.")
    parser.add_argument("--time-limit", type=float, default=120.0, help="Seconds before giving up.")
    args = parser.parse_args()
    if not (1 <= args.clients <= 64 and 1 <= args.requests <= 2000):
        print("bench_api: --clients must be 1..64 and --requests 1..2000", file=sys.stderr)
        return 2
    total = args.clients * args.requests
    with tempfile.TemporaryDirectory(prefix="fame-bench-api-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        key, _ = AdminKeyStore(data_dir / "admin_keys.json").add(label="bench")
        SettingsStore(data_dir / "settings.json").update(
            {"api.rate_limit_per_minute": 10 * total + 1000}, admin=True
        )
        env = {k: v for k, v in os.environ.items() if k != "FAME_ADMIN_KEY"}
        proc = subprocess.Popen(
            [FAME, "--data-dir", str(data_dir), "serve", "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        found = re.search(r"(http://127\.0\.0\.1:\d+)", proc.stdout.readline())
        if not found:
            proc.kill()
            print("bench_api: the server did not start: " + proc.communicate()[1], file=sys.stderr)
            return 1
        url = found.group(1)
        latencies: list[float] = []
        errors: list[str] = []
        try:
            # Warm-up: first query loads nothing new, but the key's KDF check is paid once here.
            httpx.post(f"{url}/query", json={"text": "1 + 1"}, headers={"X-API-Key": key}, timeout=30)

            async def load() -> float:
                t0 = time.perf_counter()
                await asyncio.wait_for(
                    asyncio.gather(
                        *(
                            client_run(url, key, args.requests, i, latencies, errors)
                            for i in range(args.clients)
                        )
                    ),
                    timeout=args.time_limit,
                )
                return time.perf_counter() - t0

            elapsed = asyncio.run(load())
        finally:
            proc.terminate()
            proc.communicate(timeout=30)
        app = build_app(data_dir)
        try:
            api_entries = app.audit.count(kinds=["api_request"])
            completed = app.audit.count(kinds=["query_completed"])
        finally:
            app.services.close()
        base = asyncio.run(baseline(Path(tmp) / "baseline", min(total, 300)))

    expected = total + 1  # + the warm-up request
    print(f"clients: {args.clients} count")
    print(f"requests: {total} count")
    print(f"throughput: {total / elapsed:.1f} req/s")
    print(f"latency_p50: {statistics.median(latencies):.2f} ms")
    print(f"latency_p99: {percentile(latencies, 99):.2f} ms")
    print(f"errors: {len(errors)} count")
    print(f"audit_api_requests: {api_entries} count (expected {expected})")
    print(f"audit_queries_completed: {completed} count (expected {expected})")
    print(f"baseline_in_process_p50: {statistics.median(base):.2f} ms")
    print(f"api_over_in_process_p50: {statistics.median(latencies) / statistics.median(base):.1f} ratio")
    if errors:
        print("first error: " + errors[0], file=sys.stderr)
    return 0 if not errors and api_entries == expected and completed == expected else 1


if __name__ == "__main__":
    sys.exit(main())
