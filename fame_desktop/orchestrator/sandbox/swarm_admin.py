"""Administering the Swarm cluster the sandbox uses: its status, making this engine a manager,
and the command that joins another machine as a worker (``fame sandbox cluster ...``).

Blocking calls over the manager engine (``sandbox.swarm_manager``, else ``sandbox.docker_host``,
``DOCKER_HOST`` or the local socket); callers run them in worker threads.
"""

from __future__ import annotations

from dataclasses import dataclass

from fame_desktop.orchestrator.sandbox.engine import Engine, short_error
from fame_desktop.orchestrator.sandbox.swarm_cluster import Cluster, ClusterState
from fame_desktop.orchestrator.settings import SandboxSettings

#: The port managers listen on for joining nodes.
SWARM_PORT = 2377


def manager_engine(settings: SandboxSettings) -> Engine:
    """The engine the Swarm backend talks to, per the settings (the caller closes it)."""
    return Engine(settings.swarm_manager or settings.docker_host, settings.image)


def cluster_status(engine: Engine) -> ClusterState:
    """The cluster as the manager sees it (nodes, whether the image is on the manager)."""
    return Cluster(engine).probe()


@dataclass(frozen=True)
class InitResult:
    """What ``cluster init`` did: ``created`` (a new swarm), ``exists`` (already in one) or
    ``failed``; ``detail`` is a sentence for a person (with the fix when it failed)."""

    status: str
    detail: str
    node_id: str = ""


def init_swarm(engine: Engine, advertise_addr: str | None) -> InitResult:
    """Make the engine the first manager of a new swarm (``docker swarm init``)."""
    try:
        api = engine.api()
        swarm = api.info().get("Swarm") or {}
    except Exception as exc:
        return InitResult("failed", f"Docker is not reachable at {engine.where} ({short_error(exc)}).")
    if swarm.get("LocalNodeState") == "active":
        role = "a manager" if swarm.get("ControlAvailable") else "a worker"
        return InitResult(
            "exists",
            f"The engine at {engine.where} is already {role} of a swarm ({len(swarm.get('RemoteManagers') or [])} "
            "manager(s)); nothing changed.",
            str(swarm.get("NodeID", "")),
        )
    try:
        node_id = str(api.init_swarm(advertise_addr=advertise_addr or None))
    except Exception as exc:
        text = short_error(exc)
        fix = ""
        if "advertise" in text.lower():
            fix = " Fix: pass --advertise-addr with the address other machines reach this one at (e.g. its LAN IP)."
        return InitResult("failed", f"docker swarm init failed: {text}.{fix}")
    return InitResult(
        "created",
        f"The engine at {engine.where} is now the manager of a new swarm"
        f"{f' advertised at {advertise_addr}' if advertise_addr else ''}. Add machines with the command "
        "`fame sandbox cluster join-token` prints; set sandbox.backend to swarm to run the sandbox on it.",
        node_id,
    )


def join_command(engine: Engine, *, manager: bool = False) -> str:
    """The ``docker swarm join`` command another machine runs to join as a worker (or manager).

    Raises:
        RuntimeError: The engine is not a manager of a swarm (the message says what to do).
        docker.errors.DockerException: The engine failed.
    """
    api = engine.api()
    swarm = api.info().get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        raise RuntimeError(
            f"The engine at {engine.where} is not a swarm manager; run `fame sandbox cluster init` first."
        )
    token = api.inspect_swarm()["JoinTokens"]["Manager" if manager else "Worker"]
    managers = swarm.get("RemoteManagers") or []
    address = next((str(m["Addr"]) for m in managers if m.get("NodeID") == swarm.get("NodeID")), "")
    address = address or f"{swarm.get('NodeAddr', '')}:{SWARM_PORT}"
    return f"docker swarm join --token {token} {address}"
