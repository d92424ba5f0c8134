"""The Swarm cluster as the sandbox sees it: whether the engine is a manager, its nodes, and the
leftovers of earlier apps (services, configs and networks with the ``fame.*`` labels).

Blocking calls over the manager engine's ``APIClient`` (:class:`.engine.Engine`); callers run
them in worker threads.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from fame_desktop.orchestrator.sandbox.engine import Engine, owner_alive, short_error
from fame_desktop.orchestrator.sandbox.fix_hints import engine_fix

log = logging.getLogger("fame.sandbox.swarm")

#: Labels every object of a job carries (service, config, network).
OWNER = "fame.owner"
RUN = "fame.run"
#: Epoch seconds after which nothing of the job may still be needed (its deadline plus a margin).
EXPIRES = "fame.expires"

INIT_FIX = "run `fame sandbox cluster init` (docker swarm init) on this engine"


@dataclass(frozen=True)
class NodeInfo:
    """One node of the cluster, as ``docker node ls`` shows it."""

    id: str
    hostname: str
    role: str
    state: str
    availability: str
    engine_version: str
    address: str = ""
    #: Whether the sandbox image is on the node (None: not knowable from the manager).
    image_present: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)


@dataclass
class ClusterState:
    """The last probe of the manager."""

    available: bool
    detail: str
    version: str = ""
    manager: str = ""
    nodes: list[NodeInfo] = field(default_factory=list)

    @property
    def ready_nodes(self) -> int:
        """Nodes that can take jobs (ready and active)."""
        return sum(1 for n in self.nodes if n.state == "ready" and n.availability == "active")


def node_info(raw: dict[str, Any], image_present: bool | None = None) -> NodeInfo:
    """A node from the engine's ``/nodes`` entry."""
    spec, desc, status = raw.get("Spec", {}), raw.get("Description", {}), raw.get("Status", {})
    return NodeInfo(
        id=str(raw.get("ID", "")),
        hostname=str(desc.get("Hostname", "")),
        role=str(spec.get("Role", "")),
        state=str(status.get("State", "")),
        availability=str(spec.get("Availability", "")),
        engine_version=str(desc.get("Engine", {}).get("EngineVersion", "")),
        address=str(status.get("Addr", "")),
        image_present=image_present,
    )


class Cluster:
    """The manager engine, its node list and host names (cached), and reaping.

    Args:
        engine: The manager engine (``sandbox.swarm_manager``) and the sandbox image.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.state = ClusterState(False, "The Swarm cluster was not probed yet.")
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    def probe(self) -> ClusterState:
        """Ask the manager whether it manages a swarm, its nodes, and whether it has the image."""
        engine_state = self.engine.probe()
        where = self.engine.where
        if not engine_state.version:
            self.state = ClusterState(False, engine_state.detail)
            return self.state
        try:
            api = self.engine.api()
            swarm = api.info().get("Swarm") or {}
            if swarm.get("LocalNodeState") != "active":
                self.state = ClusterState(
                    False,
                    f"The engine at {where} is not part of a Docker Swarm. Fix: {INIT_FIX}.",
                    engine_state.version,
                )
                return self.state
            if not swarm.get("ControlAvailable"):
                self.state = ClusterState(
                    False,
                    f"The engine at {where} is a Swarm worker, not a manager. Fix: point the setting "
                    "sandbox.swarm_manager at a manager's engine.",
                    engine_state.version,
                )
                return self.state
            own = str(swarm.get("NodeID", ""))
            nodes = [
                node_info(n, engine_state.image_present if n.get("ID") == own else None) for n in api.nodes()
            ]
        except Exception as exc:
            self.state = ClusterState(
                False,
                f"The Swarm manager at {where} failed ({short_error(exc)}). Fix: {engine_fix(str(exc))}",
                engine_state.version,
            )
            return self.state
        with self._lock:
            self._names.update({n.id: n.hostname for n in nodes})
        manager = next((n.hostname for n in nodes if n.id == own), "")
        ready = sum(1 for n in nodes if n.state == "ready" and n.availability == "active")
        if not engine_state.available:  # the image is missing on the manager
            self.state = ClusterState(False, engine_state.detail, engine_state.version, manager, nodes)
        elif ready == 0:
            self.state = ClusterState(
                False,
                f"No node of the Swarm at {where} is ready and active. Fix: start a node's engine or "
                "`docker node update --availability active NODE`.",
                engine_state.version,
                manager,
                nodes,
            )
        else:
            self.state = ClusterState(
                True,
                f"Docker Swarm at {where}: {ready} node{'s' if ready != 1 else ''} ready, image {self.engine.image}.",
                engine_state.version,
                manager,
                nodes,
            )
        return self.state

    def node_name(self, node_id: str) -> str:
        """The host name of node ``node_id`` (asked once, then cached); the id if unknown."""
        if not node_id:
            return ""
        with self._lock:
            name = self._names.get(node_id)
        if name:
            return name
        try:
            name = str(self.engine.api().inspect_node(node_id)["Description"]["Hostname"])
        except Exception as exc:  # a node that left: the id still says where it ran
            log.debug("inspect node %s: %s", node_id, exc)
            return node_id[:12]
        with self._lock:
            self._names[node_id] = name
        return name

    def leftovers(self, own_owner: str) -> list[tuple[str, str]]:
        """The ``(kind, id)`` of job objects (services, configs, networks) of apps that are gone
        or long past their deadline; never this app's own (``own_owner``)."""
        api = self.engine.api()
        now = time.time()

        def stale(labels: dict[str, str] | None) -> bool:
            labels = labels or {}
            owner = labels.get(OWNER, "")
            if owner == own_owner:
                return False
            try:
                expired = now > float(labels.get(EXPIRES, "0"))
            except ValueError:
                expired = True
            return expired or not owner_alive(owner)

        found: list[tuple[str, str]] = []
        for item in api.services(filters={"label": OWNER}):
            if stale(item.get("Spec", {}).get("Labels")):
                found.append(("service", str(item["ID"])))
        for item in api.configs(filters={"label": OWNER}):
            if stale(item.get("Spec", {}).get("Labels")):
                found.append(("config", str(item["ID"])))
        for item in api.networks(filters={"label": OWNER}):
            if stale(item.get("Labels")):
                found.append(("network", str(item["Id"])))
        return found


def stray_containers(node_api: Any, manager_api: Any) -> list[str]:
    """Ids of job containers on one node's engine whose service the manager no longer has.

    A node lost mid-run keeps its jobs' containers; when it comes back, Swarm usually removes
    them, but not always (seen on a loaded machine: three containers still there after 60 s).
    The containers are listed before the services, so a job started meanwhile is never taken
    for a stray: its service exists by the time the services are asked for.
    """
    containers = node_api.containers(all=True, filters={"label": OWNER})
    if not containers:
        return []
    services = {str(s["ID"]) for s in manager_api.services(filters={"label": OWNER})}
    return [
        str(c["Id"])
        for c in containers
        if (c.get("Labels") or {}).get("com.docker.swarm.service.id") not in services
    ]
