"""Where a Swarm job may run: a concurrency limit per node, spread, and nodes lost mid-run.

Swarm's own scheduler spreads tasks, but it knows no limit per node for single-task services, and
a node that dies leaves its job's task ``running`` forever (a job's task is never rescheduled).
So, when the admin setting ``sandbox.per_node_concurrency`` is above 0, the sandbox places each
job itself: :meth:`NodeSlots.acquire` picks the ready node with the fewest jobs of this app and
a free slot, and the job's service is pinned there (``node.id==ID``). While a job runs,
:meth:`NodeSlots.lost` says whether its node went down, so the job is given up and run again on
another node (pinned there, the lost node excluded).

One :class:`NodeSlots` per sandbox; thread-safe. The node list comes from the manager at most
every :data:`REFRESH_S` seconds, shared by every job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("fame.sandbox.swarm")

#: Seconds a node list from the manager stays fresh.
REFRESH_S = 1.0
#: Node states (``docker node ls``) in which a node's running tasks are lost.
LOST_STATES = frozenset({"down", "disconnected", "unknown"})


@dataclass(frozen=True)
class NodeState:
    """One node as the manager sees it now."""

    id: str
    hostname: str
    state: str
    availability: str

    @property
    def usable(self) -> bool:
        """Ready and active: Swarm would start a job there."""
        return self.state == "ready" and self.availability == "active"


def node_states(raw_nodes: Iterable[dict[str, Any]]) -> list[NodeState]:
    """:class:`NodeState` of each entry of the engine's ``GET /nodes``."""
    return [
        NodeState(
            id=str(raw.get("ID", "")),
            hostname=str((raw.get("Description") or {}).get("Hostname", "")),
            state=str((raw.get("Status") or {}).get("State", "")),
            availability=str((raw.get("Spec") or {}).get("Availability", "")),
        )
        for raw in raw_nodes
    ]


def placement(node_id: str | None, exclude: Iterable[str] = ()) -> list[str]:
    """Swarm placement constraints: pinned to ``node_id`` (when given), never on ``exclude``."""
    constraints = [f"node.id=={node_id}"] if node_id else []
    constraints += [f"node.id!={other}" for other in sorted(set(exclude)) if other != node_id]
    return constraints


class NodeSlots:
    """Per-node job slots over the manager's node list (see the module docstring).

    Args:
        list_nodes: Returns the manager's ``GET /nodes`` entries (blocking; raises when it fails).
        per_node: Jobs one node runs at once (at least 1).
    """

    def __init__(self, list_nodes: Callable[[], list[dict[str, Any]]], per_node: int) -> None:
        self._list_nodes = list_nodes
        self.per_node = max(1, per_node)
        self._cond = threading.Condition()
        self._nodes: dict[str, NodeState] = {}
        self._busy: dict[str, int] = {}
        self._placed: dict[str, int] = {}  # jobs ever placed per node: ties go to the less used
        self._paused: dict[str, float] = {}  # node id -> monotonic time it may get jobs again
        self._refreshed = 0.0
        self._closed = False

    # --- the node list ---------------------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> dict[str, NodeState]:
        """The node list, asked of the manager when older than :data:`REFRESH_S` (or ``force``).

        A failing manager keeps the last list (the job's own calls say what is wrong).
        """
        with self._cond:
            fresh = time.monotonic() - self._refreshed < REFRESH_S
            if fresh and not force:
                return dict(self._nodes)
            self._refreshed = time.monotonic()  # one caller asks; the others use the last list
        try:
            nodes = {n.id: n for n in node_states(self._list_nodes())}
        except Exception as exc:
            log.debug("listing swarm nodes: %s", exc)
            with self._cond:
                return dict(self._nodes)
        with self._cond:
            gone = [i for i, n in self._nodes.items() if n.usable and not (i in nodes and nodes[i].usable)]
            self._nodes = nodes
            self._cond.notify_all()
        for node_id in gone:
            log.warning(
                "swarm node %s is %s", node_id[:12], nodes[node_id].state if node_id in nodes else "gone"
            )
        return dict(nodes)

    def usable(self) -> list[NodeState]:
        """The nodes that can take jobs now."""
        return [n for n in self.refresh().values() if n.usable]

    def capacity(self) -> int:
        """Jobs the usable nodes run at once (``per_node`` each; at least ``per_node``)."""
        return self.per_node * max(1, len(self.usable()))

    def lost(self, node_id: str) -> bool:
        """Whether node ``node_id`` is down (or left the swarm): a job running there is lost."""
        if not node_id:
            return False
        node = self.refresh().get(node_id)
        return node is None or node.state in LOST_STATES

    def hostname(self, node_id: str) -> str:
        """The host name of ``node_id`` as last listed ("" when unknown)."""
        with self._cond:
            node = self._nodes.get(node_id)
        return node.hostname if node else ""

    # --- slots ----------------------------------------------------------------------------------

    def acquire(
        self, *, exclude: Iterable[str] = (), timeout: float, cancelled: Callable[[], bool] = lambda: False
    ) -> str | None:
        """A slot on the usable node (not in ``exclude``) with the fewest jobs; its node id.

        Waits for a slot up to ``timeout`` seconds; None when none freed (or ``cancelled()``).
        """
        excluded = set(exclude)
        deadline = time.monotonic() + timeout
        while True:
            self.refresh()
            with self._cond:
                if self._closed or cancelled():
                    return None
                now = time.monotonic()
                free = [
                    n.id
                    for n in self._nodes.values()
                    if n.usable
                    and n.id not in excluded
                    and self._paused.get(n.id, 0.0) <= now
                    and self._busy.get(n.id, 0) < self.per_node
                ]
                if free:
                    chosen = min(free, key=lambda i: (self._busy.get(i, 0), self._placed.get(i, 0), i))
                    self._busy[chosen] = self._busy.get(chosen, 0) + 1
                    self._placed[chosen] = self._placed.get(chosen, 0) + 1
                    return chosen
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                # A release or a node coming back wakes us; the refresh above needs a tick too.
                self._cond.wait(min(left, REFRESH_S))

    def release(self, node_id: str) -> None:
        """Give back a slot taken by :meth:`acquire`."""
        with self._cond:
            if self._busy.get(node_id, 0) > 0:
                self._busy[node_id] -= 1
            self._cond.notify_all()

    def pause(self, node_id: str, seconds: float) -> None:
        """Give node ``node_id`` no job for ``seconds`` (it refused one: the image missing there)."""
        with self._cond:
            self._paused[node_id] = time.monotonic() + seconds

    def busy(self) -> dict[str, int]:
        """Jobs running per node id (slots taken)."""
        with self._cond:
            return {i: c for i, c in self._busy.items() if c}

    def close(self) -> None:
        """Wake every waiter; no slot is handed out any more."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
