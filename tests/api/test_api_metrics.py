"""Prometheus metrics: collectors fed by the real event bus, and /metrics on a real server."""

from __future__ import annotations

import re

from api_harness import Server

from fame_desktop.app import App
from fame_desktop.orchestrator.events import EventBus, PluginFailed, SandboxFinished
from fame_desktop.orchestrator.llm.events import LlmStreamEnded
from fame_desktop.orchestrator.metrics import Metrics
from fame_desktop.orchestrator.run_report import Limits, RunReport


def sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        found = re.match(r"^([a-z_]+)(\{.*\})? (\S+)$", line)
        if not found or found.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            return float(found.group(3))
    return 0.0


def test_metrics_endpoint_counters_move_after_queries(server: Server) -> None:
    with server.client() as c:
        before = c.get("/metrics")
        assert before.status_code == 200
        assert before.headers["content-type"].startswith("text/plain")
        ok_before = sample(before.text, "fame_queries_total", intent="calculate", status="ok")
        lat_before = sample(before.text, "fame_query_latency_seconds_count", intent="calculate")
        for expr in ("1 + 1", "2 * 3", "10 / 4"):
            assert c.post("/query", json={"text": expr, "intent": "calculate"}).status_code == 200
        c.post("/query", json={"text": "What is BTC price today?", "intent": "market_analysis"})
        after = c.get("/metrics").text
    assert sample(after, "fame_queries_total", intent="calculate", status="ok") == ok_before + 3
    assert sample(after, "fame_query_latency_seconds_count", intent="calculate") == lat_before + 3
    assert sample(after, "fame_queries_total", intent="market_analysis", status="network_disabled") >= 1
    assert sample(after, "fame_api_requests_total", method="POST", route="/query", status="200") >= 3
    assert sample(after, "fame_api_requests_total", method="POST", route="/query", status="409") >= 1
    assert sample(after, "fame_audit_entries") > sample(before.text, "fame_audit_entries")


async def test_collectors_follow_bus_events(app: App) -> None:
    metrics = Metrics(app.bus, audit_entries=len(app.audit))
    other = Metrics(EventBus())
    try:
        start = metrics.value("fame_audit_entries")
        await app.brain.handle_query({"text": "6 * 7", "intent": "calculate"})
        assert metrics.value("fame_queries_total", {"intent": "calculate", "status": "ok"}) == 1
        assert metrics.value("fame_audit_entries") == len(app.audit) > start
        app.bus.publish(
            SandboxFinished(
                run_id="r1",
                report=RunReport(
                    run_id="r1",
                    status="timeout",
                    backend="docker",
                    image="",
                    limits=Limits.defaults(),
                    duration_ms=1500,
                ),
            )
        )
        app.bus.publish(PluginFailed(name="broken", path="/x/broken.py", stage="call", error="boom"))
        assert metrics.value("fame_sandbox_runs_total", {"status": "timeout", "backend": "docker"}) == 1
        assert metrics.value("fame_sandbox_duration_seconds_sum", {"status": "timeout"}) == 1.5
        assert metrics.value("fame_plugin_failures_total", {"plugin": "broken", "stage": "call"}) == 1
        app.bus.publish(LlmStreamEnded(query_id="q1", stream_id="s1", reason="stop", tokens=12))
        app.bus.publish(LlmStreamEnded(query_id="q1", stream_id="s2", reason="length", tokens=30))
        assert metrics.value("fame_llm_tokens_total") == 42
        assert metrics.value("fame_llm_completions_total", {"reason": "length"}) == 1
        assert metrics.snapshot().llm_tokens == 42
        # Each Metrics has its own registry: nothing leaks between apps in one process.
        assert other.value("fame_queries_total", {"intent": "calculate", "status": "ok"}) == 0
        snap = metrics.snapshot()
        assert snap.queries_by_intent == {"calculate": 1}
        assert snap.sandbox_by_status == {"timeout": 1}
        assert snap.recent_queries[-1].intent == "calculate"
    finally:
        metrics.close()
        other.close()


def test_label_values_from_plugins_are_bounded() -> None:
    bus = EventBus()
    metrics = Metrics(bus)
    bus.publish(PluginFailed(name='Evil Plugin {with} "quotes"', path="p", stage="load", error="x"))
    assert metrics.value("fame_plugin_failures_total", {"plugin": "other", "stage": "load"}) == 1
    metrics.close()
