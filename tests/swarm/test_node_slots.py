"""Per-node job slots of the Swarm backend (no engine: the node list is the engine's JSON shape)."""

from __future__ import annotations

import threading
import time
from typing import Any

from fame_desktop.orchestrator.sandbox import swarm_nodes
from fame_desktop.orchestrator.sandbox.swarm_nodes import NodeSlots, placement


class Cluster:
    """A node list in the shape of ``GET /nodes``, changed by the test as nodes come and go."""

    def __init__(self, **states: str) -> None:
        self.states = dict(states)
        self.asked = 0

    def nodes(self) -> list[dict[str, Any]]:
        self.asked += 1
        return [
            {
                "ID": node,
                "Description": {"Hostname": f"host-{node}"},
                "Status": {"State": state},
                "Spec": {"Availability": "drain" if state == "drained" else "active"},
            }
            for node, state in self.states.items()
        ]


def test_slots_spread_and_respect_the_per_node_limit() -> None:
    slots = NodeSlots(Cluster(a="ready", b="ready").nodes, per_node=2)
    taken = [slots.acquire(timeout=0) for _ in range(4)]
    assert sorted(taken) == ["a", "a", "b", "b"]  # alternating: the least busy node first
    assert taken[:2] in (["a", "b"], ["b", "a"])
    assert slots.acquire(timeout=0) is None  # both nodes full
    assert slots.capacity() == 4
    slots.release("b")
    assert slots.acquire(timeout=0) == "b"


def test_a_waiting_acquire_gets_the_released_slot() -> None:
    slots = NodeSlots(Cluster(a="ready").nodes, per_node=1)
    assert slots.acquire(timeout=0) == "a"
    threading.Timer(0.2, slots.release, args=("a",)).start()
    started = time.monotonic()
    assert slots.acquire(timeout=5) == "a"
    assert time.monotonic() - started < 2


def test_excluded_drained_and_down_nodes_get_no_jobs(monkeypatch: Any) -> None:
    monkeypatch.setattr(swarm_nodes, "REFRESH_S", 0.0)
    cluster = Cluster(a="ready", b="ready", c="drained")
    slots = NodeSlots(cluster.nodes, per_node=5)
    assert {slots.acquire(exclude={"a"}, timeout=0) for _ in range(3)} == {"b"}
    assert not slots.lost("a")
    cluster.states["a"] = "down"
    assert slots.lost("a") and not slots.lost("b")
    assert slots.acquire(exclude={"b"}, timeout=0) is None
    del cluster.states["a"]  # removed from the swarm: lost too
    assert slots.lost("a")
    assert slots.hostname("b") == "host-b"


def test_the_node_list_is_shared_between_jobs() -> None:
    cluster = Cluster(a="ready")
    slots = NodeSlots(cluster.nodes, per_node=1)
    for _ in range(50):
        slots.lost("a")
    assert cluster.asked == 1  # fresh for a second: one call to the manager, not one per job


def test_a_cancelled_or_closed_wait_returns_none() -> None:
    slots = NodeSlots(Cluster(a="ready").nodes, per_node=1)
    assert slots.acquire(timeout=0) == "a"
    assert slots.acquire(timeout=5, cancelled=lambda: True) is None
    threading.Timer(0.2, slots.close).start()
    assert slots.acquire(timeout=5) is None


def test_placement_pins_and_excludes() -> None:
    assert placement("n1", {"n2", "n1"}) == ["node.id==n1", "node.id!=n2"]
    assert placement(None, ["n3"]) == ["node.id!=n3"]
