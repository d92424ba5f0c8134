"""Local model benchmarks: load time, first-token latency, tokens/s, cancel latency, window stalls.

    .venv/bin/python benchmarks/bench_llm.py
    FAME_BENCH_MODEL=~/models/qwen2.5-0.5b-instruct-q4_k_m.gguf .venv/bin/python benchmarks/bench_llm.py
    DISPLAY=:99 QT_QPA_PLATFORM=xcb .venv/bin/python benchmarks/bench_llm.py   # the window on Xvfb

Measures the in-process llama.cpp backend on the tiny model the tests write (random weights, so
its figures are llama.cpp's overhead, not a real model's speed) and, when ``FAME_BENCH_MODEL``
points at a real GGUF file, on that model. Then the window: the chat answers with the tiny model
(at least 500 tokens streamed into the chat pane) while a 5 ms ``QTimer`` heartbeat measures the
event loop's longest stall (goal: at most 50 ms).

Prints ``name: value unit`` lines. Runs offscreen unless QT_QPA_PLATFORM is set.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "llm"))

from tiny_gguf import write_tiny_gguf

from fame_desktop.orchestrator.llm import ChatMessage
from fame_desktop.orchestrator.llm.local_models import LocalModels, LocalModelSpec
from fame_desktop.orchestrator.llm.local_provider import LocalProvider

RUNS = 3
QUESTION = [
    ChatMessage("system", "You are a helpful assistant."),
    ChatMessage("user", "Explain recursion to a new programmer, with an example in Python."),
]


async def model_figures(label: str, path: Path, tokens: int) -> None:
    """Load time, first-token latency, tokens/s and cancel latency for one model file."""
    models = LocalModels()
    try:
        provider = LocalProvider(LocalModelSpec(path=path, context_size=2048, seed=1), models)
        started = time.perf_counter()
        model = await provider.load()
        print(
            f"{label}_load: {(time.perf_counter() - started) * 1000:.0f} ms (llama.cpp {model.load_s * 1000:.0f} ms)"
        )
        firsts, rates = [], []
        for _ in range(RUNS):
            done = await provider.complete(QUESTION, max_tokens=tokens, temperature=0.2)
            firsts.append((done.first_token_s or 0.0) * 1000)
            rates.append(done.tokens_per_second)
        print(f"{label}_first_token_median_of_{RUNS}: {statistics.median(firsts):.1f} ms")
        print(
            f"{label}_tokens_per_s_median_of_{RUNS}: {statistics.median(rates):.1f} tok/s ({tokens} tokens)"
        )
        returned, freed = [], []
        for _ in range(RUNS):
            r, f = await cancel_latency(provider)
            returned.append(r)
            freed.append(f)
        print(f"{label}_cancel_to_answer_returned_max_of_{RUNS}: {max(returned):.1f} ms")
        print(f"{label}_cancel_to_model_free_max_of_{RUNS}: {max(freed):.1f} ms")
    finally:
        models.close()


async def cancel_latency(provider: LocalProvider) -> tuple[float, float]:
    """Milliseconds from setting the cancel event to the completion returning, and to the model being free."""
    cancel = asyncio.Event()
    asked = [0.0]
    pieces = 0

    async def run() -> None:
        nonlocal pieces
        async for _ in provider.stream(QUESTION, max_tokens=1500, cancel=cancel):
            pieces += 1
            if pieces == 3:
                asked[0] = time.perf_counter()
                cancel.set()

    await run()
    returned = time.perf_counter()
    model = await provider.load()
    freed = await asyncio.wrap_future(model.executor.submit(time.perf_counter))
    return (returned - asked[0]) * 1000, (freed - asked[0]) * 1000


def window_stall(tiny: Path) -> None:
    """The window's longest event-loop stall while the chat streams the tiny model's answer."""
    from loop_stalls import LoopStalls
    from PySide6.QtWidgets import QApplication

    from fame_desktop.app import build_app
    from fame_desktop.ui.qt_loop import QtEventLoop, QtGarbageCollector
    from fame_desktop.ui.qt_main_window import QtMainWindow

    qapp = QApplication(["bench"])
    qapp.setQuitOnLastWindowClosed(False)
    loop = QtEventLoop(qapp)
    asyncio.set_event_loop(loop)
    collector = QtGarbageCollector()
    data = Path(tempfile.mkdtemp(prefix="fame-bench-llm-"))
    (data / "llm_models").mkdir()
    shutil.copy(tiny, data / "llm_models" / tiny.name)
    app = build_app(data)
    app.settings.update({"llm.local_model": tiny.name, "llm.context_size": 2048}, admin=True)
    app.bus.bind_loop(loop)
    win = QtMainWindow(app, loop)
    win.show()
    meter = LoopStalls()

    async def scenario() -> None:
        await app.brain.start()
        while win.workers.active("startup"):  # noqa: ASYNC110 - polls the window's workers
            await asyncio.sleep(0.05)
        provider = app.services.llm()
        assert isinstance(provider, LocalProvider)
        await provider.load()  # the load is measured above; here only the streaming
        results = []
        for _ in range(RUNS):
            answers: list[dict[str, object]] = []
            win.chat.answered.connect(answers.append)
            await asyncio.sleep(0.3)
            meter.start()
            started = time.perf_counter()
            worker = win.chat.ask("tell me a story about a robot", intent="chat")
            while worker.task is None or not worker.task.done() or not answers:  # noqa: ASYNC110 - polls the chat
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - started
            worst_stall, p95_stall = meter.stop()
            win.chat.answered.disconnect(answers.append)
            data_ = answers[-1].get("data") or {}
            usage = data_.get("usage") if isinstance(data_, dict) else None
            streamed = int((usage or {}).get("completion_tokens") or 0)
            results.append((worst_stall, p95_stall, streamed, elapsed))
        worst = [r[0] for r in results]
        print(f"window_tokens_streamed_per_answer: {min(r[2] for r in results)} tokens (goal >= 500)")
        print(f"window_answer_time_median: {statistics.median(r[3] for r in results) * 1000:.0f} ms")
        print(
            f"window_loop_stall_max_while_streaming_median_of_{RUNS}: {statistics.median(worst):.1f} ms (goal <= 50)"
        )
        print(f"window_loop_stall_max_while_streaming_worst_of_{RUNS}: {max(worst):.1f} ms")
        print(f"window_loop_stall_p95_while_streaming: {statistics.median(r[1] for r in results):.1f} ms")

    try:
        loop.run_until_complete(scenario())
    finally:
        win.close()
        loop.run_until_complete(asyncio.sleep(0.5))  # the window's workers finish before the app closes
        loop.run_until_complete(app.aclose())
        collector.stop()
        shutil.rmtree(data, ignore_errors=True)


def main() -> int:
    """Run every measurement and print the results."""
    folder = Path(tempfile.mkdtemp(prefix="fame-bench-tiny-"))
    try:
        tiny = write_tiny_gguf(folder / "tiny-test-llama.gguf", seed=0)
        print(f"tiny_model_size: {tiny.stat().st_size / 1e6:.2f} MB")
        asyncio.run(model_figures("tiny", tiny, 200))
        real = os.environ.get("FAME_BENCH_MODEL")
        if real:
            asyncio.run(model_figures("real_" + Path(real).stem, Path(real).expanduser(), 64))
        else:
            print("real_model: skipped (set FAME_BENCH_MODEL to a .gguf file)")
        window_stall(tiny)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
