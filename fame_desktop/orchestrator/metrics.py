"""Prometheus metrics fed by the event bus (and by the API for its own requests).

Each :class:`Metrics` owns its own ``CollectorRegistry`` (never the process-global one), so
several apps or tests in one process never share counters. It also keeps a short history of
recent queries and sandbox runs for the window's telemetry view, which reads
:meth:`Metrics.snapshot` instead of parsing the Prometheus text.

The collectors (and ``prometheus_client``, ~50 ms of imports) are made when something reads them
or after :data:`PENDING_LIMIT` observations: until then observations wait in a short list and are
replayed in order. A one-shot ``fame ask`` that nobody scrapes never pays for them.
"""

from __future__ import annotations

import re
import threading
from collections import Counter as CountMap
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from fame_desktop.orchestrator.events import (
    AuditAppended,
    EventBus,
    PluginFailed,
    QueryCompleted,
    SandboxFinished,
    Subscription,
)
from fame_desktop.orchestrator.llm.events import LlmStreamEnded

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics import MetricWrapperBase

    _M = TypeVar("_M", bound=MetricWrapperBase)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; queries range from a calculator (sub-ms) to code generation with sandbox tests (tens of s).
QUERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
SANDBOX_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
HISTORY = 600
#: Observations kept before the collectors exist; one more makes them (a long-lived app's do soon).
PENDING_LIMIT = 256
# Label values come from plugins and clients: keep them short and from a small alphabet so a
# misbehaving plugin cannot blow up the number of series.
_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _label(value: object, default: str = "none") -> str:
    text = str(value) if value is not None else default
    return text if _LABEL.match(text) else "other"


@dataclass(frozen=True)
class QueryPoint:
    """One answered query, for charts."""

    ts: float
    intent: str
    status: str
    latency_ms: float


@dataclass(frozen=True)
class SandboxPoint:
    """One finished sandbox run, for charts."""

    ts: float
    status: str
    duration_ms: float


@dataclass(frozen=True)
class TelemetrySnapshot:
    """What the telemetry view draws (plain data, copied under the lock)."""

    queries_by_intent: dict[str, int]
    queries_by_status: dict[str, int]
    sandbox_by_status: dict[str, int]
    plugin_failures: dict[str, int]
    audit_entries: int
    recent_queries: list[QueryPoint] = field(default_factory=list)
    llm_completions: dict[str, int] = field(default_factory=dict)  # by how they ended
    llm_tokens: int = 0
    recent_sandbox: list[SandboxPoint] = field(default_factory=list)
    sandbox_by_node: dict[str, int] = field(default_factory=dict)  # where cluster (swarm) runs ran


class _Collectors:
    """The Prometheus collectors of one :class:`Metrics`, in their own registry."""

    def __init__(self, audit_entries: int) -> None:
        # Imported here, with the first collector: see the module's docstring.
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry: CollectorRegistry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.queries = Counter(
            "fame_queries",
            "Queries answered, by intent and status (ok or error code).",
            ["intent", "status"],
            registry=r,
        )
        self.query_latency = Histogram(
            "fame_query_latency_seconds",
            "Query processing time.",
            ["intent"],
            buckets=QUERY_BUCKETS,
            registry=r,
        )
        self.sandbox_runs = Counter(
            "fame_sandbox_runs", "Sandbox runs, by status and backend.", ["status", "backend"], registry=r
        )
        self.sandbox_duration = Histogram(
            "fame_sandbox_duration_seconds",
            "Sandbox run wall time.",
            ["status"],
            buckets=SANDBOX_BUCKETS,
            registry=r,
        )
        self.plugin_failures = Counter(
            "fame_plugin_failures", "Plugin failures, by plugin and stage.", ["plugin", "stage"], registry=r
        )
        self.audit_size = Gauge("fame_audit_entries", "Entries in the audit log.", registry=r)
        self.llm_completions = Counter(
            "fame_llm_completions",
            "Language model completions, by how they ended (stop, length, cancelled, error).",
            ["reason"],
            registry=r,
        )
        self.llm_tokens = Counter("fame_llm_tokens", "Tokens the language model generated.", registry=r)
        self.api_requests = Counter(
            "fame_api_requests",
            "REST API requests, by method, route and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.api_latency = Histogram(
            "fame_api_request_seconds", "REST API request time.", ["route"], buckets=QUERY_BUCKETS, registry=r
        )
        self.audit_size.set(audit_entries)
        # Labelled children by (collector, label values): ``labels()`` checks and locks on every
        # call, and the same few children are counted on every query and request.
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], MetricWrapperBase] = {}

    def child(self, metric: _M, *values: str) -> _M:
        """``metric.labels(*values)``, made once (label values in the collector's label order)."""
        key = (metric, values)
        found = self._children.get(key)
        if found is None:
            # Two threads may both make it: labels() hands both the same child.
            found = self._children[key] = metric.labels(*values)
        return found  # type: ignore[return-value]  # labels() returns a child of metric's type


class Metrics:
    """Collectors for queries, sandbox runs, plugin failures, audit size, LLM tokens and API requests.

    Args:
        bus: The event bus to subscribe to.
        audit_entries: How many entries the audit log holds now (then counted from events).
    """

    def __init__(self, bus: EventBus, audit_entries: int = 0) -> None:
        self._collectors: _Collectors | None = None
        # Observations made before the collectors exist, replayed in order when they are made.
        self._pending: list[Callable[[_Collectors], None]] = []
        self._lock = threading.Lock()
        self._audit_entries = audit_entries
        self._by_intent: CountMap[str] = CountMap()
        self._by_status: CountMap[str] = CountMap()
        self._sandbox_status: CountMap[str] = CountMap()
        self._sandbox_node: CountMap[str] = CountMap()
        self._plugin_failures: CountMap[str] = CountMap()
        self._recent_queries: deque[QueryPoint] = deque(maxlen=HISTORY)
        self._recent_sandbox: deque[SandboxPoint] = deque(maxlen=HISTORY)
        self._llm_completions: CountMap[str] = CountMap()
        self._llm_tokens = 0
        self._subs: list[Subscription] = [
            bus.subscribe(QueryCompleted, self._on_query),
            bus.subscribe(SandboxFinished, self._on_sandbox),
            bus.subscribe(PluginFailed, self._on_plugin_failed),
            bus.subscribe(AuditAppended, self._on_audit),
            bus.subscribe(LlmStreamEnded, self._on_llm),
        ]

    # --- event handlers --------------------------------------------------------------------------

    def _on_query(self, event: QueryCompleted) -> None:
        response = event.response
        intent = _label(response.get("intent"))
        error = response.get("error")
        status = _label(error.get("code"), "error") if isinstance(error, dict) else "ok"
        latency_ms = float(response.get("processing_time_ms") or 0.0)

        def observe(c: _Collectors) -> None:
            c.child(c.queries, intent, status).inc()
            c.child(c.query_latency, intent).observe(latency_ms / 1000.0)

        self._observe(observe)
        with self._lock:
            self._by_intent[intent] += 1
            self._by_status[status] += 1
            self._recent_queries.append(QueryPoint(event.ts, intent, status, latency_ms))

    def _on_sandbox(self, event: SandboxFinished) -> None:
        report = event.report
        status = _label(report.status, "unknown")
        backend = _label(report.backend, "unknown")
        duration_ms = float(report.duration_ms)

        def observe(c: _Collectors) -> None:
            c.sandbox_runs.labels(status=status, backend=backend).inc()
            c.sandbox_duration.labels(status=status).observe(duration_ms / 1000.0)

        self._observe(observe)
        with self._lock:
            self._sandbox_status[status] += 1
            if report.node and report.backend == "swarm":  # one engine's runs all ran in one place
                self._sandbox_node[report.node] += 1
            self._recent_sandbox.append(SandboxPoint(event.ts, status, duration_ms))

    def _on_plugin_failed(self, event: PluginFailed) -> None:
        plugin, stage = _label(event.name, "unknown"), _label(event.stage, "unknown")
        self._observe(lambda c: c.plugin_failures.labels(plugin=plugin, stage=stage).inc())
        with self._lock:
            self._plugin_failures[plugin] += 1

    def _on_audit(self, _event: AuditAppended) -> None:
        with self._lock:
            self._audit_entries += 1
            if self._collectors is not None:  # else they start from the count when made
                self._collectors.audit_size.set(self._audit_entries)

    def _on_llm(self, event: LlmStreamEnded) -> None:
        reason = _label(event.reason, "unknown")
        tokens = max(0, int(event.tokens))

        def observe(c: _Collectors) -> None:
            c.llm_completions.labels(reason=reason).inc()
            c.llm_tokens.inc(tokens)

        self._observe(observe)
        with self._lock:
            self._llm_completions[reason] += 1
            self._llm_tokens += tokens

    # --- the API's own requests ------------------------------------------------------------------

    def observe_api_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one REST request (``route`` is the route template, never the raw path)."""

        def observe(c: _Collectors) -> None:
            c.child(c.api_requests, method, route, str(status)).inc()
            c.child(c.api_latency, route).observe(seconds)

        self._observe(observe)

    # --- the collectors, made on first need ------------------------------------------------------

    def _observe(self, observation: Callable[[_Collectors], None]) -> None:
        """Apply ``observation`` to the collectors, or keep it for them until they are made."""
        made = self._collectors
        if made is not None:  # set once, never unset: no lock needed to use them
            observation(made)
            return
        with self._lock:
            if self._collectors is None and len(self._pending) < PENDING_LIMIT:
                self._pending.append(observation)
                return
        observation(self.collectors)

    @property
    def collectors(self) -> _Collectors:
        """The Prometheus collectors (made, and the pending observations replayed, on first use)."""
        with self._lock:
            if self._collectors is None:
                made = _Collectors(self._audit_entries)
                for observation in self._pending:
                    observation(made)
                self._pending.clear()
                self._collectors = made
            return self._collectors

    @property
    def registry(self) -> CollectorRegistry:
        """The Prometheus registry of these collectors."""
        return self.collectors.registry

    # --- reading ---------------------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text exposition of every collector."""
        from prometheus_client import generate_latest  # with the collectors (see the docstring)

        return generate_latest(self.registry)

    def snapshot(self, since: float | None = None) -> TelemetrySnapshot:
        """Counts and recent points (only those after ``since``, unix seconds, if given)."""
        cutoff = since if since is not None else 0.0
        with self._lock:
            return TelemetrySnapshot(
                queries_by_intent=dict(self._by_intent),
                queries_by_status=dict(self._by_status),
                sandbox_by_status=dict(self._sandbox_status),
                plugin_failures=dict(self._plugin_failures),
                audit_entries=self._audit_entries,
                recent_queries=[p for p in self._recent_queries if p.ts >= cutoff],
                recent_sandbox=[p for p in self._recent_sandbox if p.ts >= cutoff],
                llm_completions=dict(self._llm_completions),
                llm_tokens=self._llm_tokens,
                sandbox_by_node=dict(self._sandbox_node),
            )

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """A sample's current value from the registry (0.0 if it has none yet)."""
        found = self.registry.get_sample_value(name, labels or {})
        return float(found) if found is not None else 0.0

    def close(self) -> None:
        """Stop listening to the bus."""
        for sub in self._subs:
            sub.cancel()
        self._subs.clear()


__all__ = ["CONTENT_TYPE", "Metrics", "QueryPoint", "SandboxPoint", "TelemetrySnapshot"]
