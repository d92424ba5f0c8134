"""Code generation: library load and matching speed, coverage of real requests, harness runs
(local Python and the real sandbox), an answer end to end, and a two-round LLM repair.

Run: .venv/bin/python benchmarks/bench_codegen.py   (sandbox figures need Docker and the image:
scripts/docker_up.sh && scripts/build_sandbox_image.sh)
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "llm"))

from openai_fake import FakeOpenAI, Reply
from routing_set import labelled_queries

from fame_desktop.app import build_app
from fame_desktop.orchestrator.codegen import OfflineGenerator, RecipeLibrary, build_test_program

SANDBOX_SAMPLE = ["reverse_string", "binary_search", "lru_cache", "dijkstra", "roman_numerals"]


def _median_ms(fn: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def offline_figures() -> RecipeLibrary:
    load_ms = _median_ms(RecipeLibrary.load, 5)
    library = RecipeLibrary.load()
    generator = OfflineGenerator(library)
    requests = [
        q
        for intent, q in labelled_queries() + labelled_queries("routing_holdout.tsv")
        if intent == "generate_code"
    ]
    matched = [q for q in requests if generator.generate(q) is not None]
    per_query_us = _median_ms(lambda: [generator.generate(q) for q in requests], 20) * 1000 / len(requests)
    print(f"codegen.recipes: {len(library)}")
    print(f"codegen.alternatives: {sum(len(r.alternatives) for r in library.all())}")
    print(f"codegen.library_load_ms: {load_ms:.1f} ms")
    print(f"codegen.match_us_per_request: {per_query_us:.1f} us")
    print(f"codegen.library_coverage: {len(matched)}/{len(requests)} labelled generate_code requests")
    for q in requests:
        if q not in matched:
            print(f"codegen.unmatched: {q}")
    local = []
    for recipe in library.all():
        program = build_test_program(recipe.code, recipe.tests)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-I", "-"], input=program, capture_output=True, text=True, timeout=60
        )
        local.append(time.perf_counter() - start)
        assert program.parse(done.stdout) is not None, recipe.id
    print(f"codegen.local_harness_run_median_ms: {statistics.median(local) * 1000:.1f} ms")
    return library


async def sandbox_figures(library: RecipeLibrary) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        app = build_app(data_dir)
        await app.brain.start()
        try:
            for _ in range(60):
                if app.services.sandbox.status().get("backend") == "docker":
                    break
                await asyncio.sleep(0.5)
            else:
                print("codegen.sandbox: unavailable (start Docker and build the image for these figures)")
                return
            runs = []
            for recipe_id in SANDBOX_SAMPLE:
                recipe = library.get(recipe_id)
                assert recipe is not None
                program = build_test_program(recipe.code, recipe.tests, bench=recipe.bench)
                report = (await app.services.sandbox.run(program)).to_dict()
                summary = program.parse(report["stdout"])
                assert summary is not None and summary.all_passed, report
                runs.append(report["duration_ms"])
            print(
                f"codegen.sandbox_run_with_bench_median_ms: {statistics.median(runs):.0f} ms ({len(runs)} recipes)"
            )
            answers = []
            for _ in range(5):
                start = time.perf_counter()
                response = await app.brain.handle_query(
                    {"text": "Write a Python function to reverse a string", "intent": "generate_code"}
                )
                answers.append(time.perf_counter() - start)
                assert response["test_report"]["tested"], response["test_report"]
            print(f"codegen.answer_end_to_end_median_ms: {statistics.median(answers) * 1000:.0f} ms")

            def reply(body: dict[str, Any]) -> Reply:
                fixed = any("failed in the sandbox" in m["content"] for m in body["messages"])
                body_text = "return text[::-1]" if fixed else "return text"
                return Reply(f"```python\ndef reverse_string(text):\n    {body_text}\n```\n")

            with FakeOpenAI(reply) as server:
                app.services.settings.update({"llm.base_url": server.url, "llm.model": "fake"}, admin=True)
                start = time.perf_counter()
                response = await app.brain.handle_query(
                    {"text": "Write a Python function to reverse a string", "intent": "generate_code"}
                )
                wall = time.perf_counter() - start
            data = response["data"]
            print(
                f"codegen.repair_loop_wall_ms: {wall * 1000:.0f} ms "
                f"(attempts {data['attempts']}, passed {data['passed']})"
            )
        finally:
            await app.aclose()


def main() -> None:
    library = offline_figures()
    asyncio.run(sandbox_figures(library))


if __name__ == "__main__":
    main()
