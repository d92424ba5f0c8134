"""The event bus across threads: order kept, output floods coalesced, nothing lost or reordered."""

from __future__ import annotations

import asyncio
import threading

from fame_desktop.orchestrator.events import (
    Event,
    EventBus,
    QueryProgress,
    SandboxFinished,
    SandboxOutput,
)
from fame_desktop.orchestrator.run_report import Limits, RunReport


def _report(run_id: str) -> RunReport:
    return RunReport(run_id=run_id, status="ok", backend="docker", image="", limits=Limits.defaults())


def _collect(bus: EventBus) -> list[Event]:
    seen: list[Event] = []
    bus.subscribe(Event, seen.append)
    return seen


async def test_a_flood_from_a_thread_arrives_whole_in_order_as_few_events() -> None:
    bus = EventBus()
    bus.bind_loop(asyncio.get_running_loop())
    seen = _collect(bus)
    lines = 50_000

    def flood() -> None:
        for i in range(lines):
            stream = "stderr" if i % 1000 == 999 else "stdout"
            bus.publish(SandboxOutput(run_id="r1", stream=stream, text=f"line {i}\n"))
        bus.publish(SandboxFinished(run_id="r1", report=_report("r1")))

    # The loop is busy (blocked) while the thread publishes, as when the window is painting.
    thread = threading.Thread(target=flood)
    thread.start()
    thread.join()
    await asyncio.sleep(0)
    await bus.drain()

    outputs = [e for e in seen if isinstance(e, SandboxOutput)]
    text = "".join(e.text for e in outputs)
    assert text == "".join(f"line {i}\n" for i in range(lines))
    # stdout and stderr never merge with each other: every stderr line is its own chunk here.
    assert [e.text for e in outputs if e.stream == "stderr"] == [
        f"line {i}\n" for i in range(999, lines, 1000)
    ]
    assert len(outputs) < lines / 100, f"{len(outputs)} deliveries for {lines} lines"
    assert isinstance(seen[-1], SandboxFinished)


async def test_events_from_a_thread_are_delivered_before_its_result_is_awaited() -> None:
    bus = EventBus()
    bus.bind_loop(asyncio.get_running_loop())
    seen = _collect(bus)

    def work() -> int:
        for i in range(2000):
            bus.publish(SandboxOutput(run_id="r2", stream="stdout", text=f"{i}\n"))
        bus.publish(QueryProgress(query_id="q", message="done"))
        return 7

    assert await asyncio.to_thread(work) == 7
    texts = "".join(e.text for e in seen if isinstance(e, SandboxOutput))
    assert texts.endswith("1999\n") and texts.count("\n") == 2000
    assert isinstance(seen[-1], QueryProgress)


async def test_publishing_on_the_loop_delivers_what_threads_published_first() -> None:
    bus = EventBus()
    bus.bind_loop(asyncio.get_running_loop())
    seen = _collect(bus)
    thread = threading.Thread(
        target=lambda: bus.publish(SandboxOutput(run_id="r3", stream="stdout", text="from thread\n"))
    )
    thread.start()
    thread.join()
    # Without yielding to the loop: the thread's event is still waiting.
    bus.publish(SandboxFinished(run_id="r3", report=_report("r3")))
    assert [type(e).__name__ for e in seen] == ["SandboxOutput", "SandboxFinished"]


async def test_a_subscriber_that_publishes_from_a_thread_while_the_bus_delivers_loses_nothing() -> None:
    bus = EventBus()
    bus.bind_loop(asyncio.get_running_loop())
    seen = _collect(bus)
    stop = threading.Event()
    published = [0]

    def producer() -> None:
        while not stop.is_set():
            bus.publish(SandboxOutput(run_id="r4", stream="stdout", text=f"{published[0]}\n"))
            published[0] += 1
            if published[0] % 500 == 0:
                bus.publish(QueryProgress(query_id="q", message=str(published[0])))

    thread = threading.Thread(target=producer)
    thread.start()
    for _ in range(100):  # the loop keeps delivering while the thread produces
        await asyncio.sleep(0.005)
    stop.set()
    thread.join()
    await asyncio.sleep(0)
    await bus.drain()
    text = "".join(e.text for e in seen if isinstance(e, SandboxOutput))
    assert text == "".join(f"{i}\n" for i in range(published[0]))
    progress = [int(e.message) for e in seen if isinstance(e, QueryProgress)]
    assert progress == list(range(500, published[0] + 1, 500))
