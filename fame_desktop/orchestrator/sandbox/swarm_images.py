"""The sandbox image on every node of a Swarm cluster, and the reference a job's service names.

A job runs on whichever node Swarm picks, so that node must hold the sandbox image. Two ways:

- **A registry** (admin setting ``sandbox.registry``, e.g. ``registry.example:5000``): the image is
  tagged ``REGISTRY/NAME:TAG`` and pushed; services name it by the pushed digest
  (``REGISTRY/NAME@sha256:...``), so every node pulls exactly those bytes.
- **Loading onto each node** (no registry): for each engine the app can reach (admin setting
  ``sandbox.swarm_node_engines``: engine URLs such as ``unix:///var/run/fame-node2.sock`` or
  ``ssh://admin@node2``) the manager's ``docker save`` streams straight into the node's
  ``docker load``. Services then name the image by its id (``sha256:...``): a node never tries a
  registry for it (Swarm workers otherwise try to pull every tag before each task, which costs
  a DNS timeout per job where no registry is reachable) and a node with a stale image is refused
  instead of running old code.

Nodes the app cannot reach are named in the result with the fix. Blocking: :meth:`distribute`
is meant for a worker thread and never raises for engine problems.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from fame_desktop.orchestrator.events import SandboxImageProgress
from fame_desktop.orchestrator.sandbox.engine import Engine, short_error
from fame_desktop.orchestrator.sandbox.images import Progress

log = logging.getLogger("fame.sandbox.swarm")

#: Bytes read from the manager's ``docker save`` per chunk (also how often progress is counted).
_CHUNK = 1 << 20
_PUBLISH_EVERY_S = 0.1


@dataclass
class NodeImage:
    """The sandbox image on one node.

    Attributes:
        node: The node's host name (the engine URL until its engine answered).
        engine: The engine URL it was reached at ("" for the manager, or a node out of reach).
        status: ``present`` (was there), ``loaded`` (copied now), ``missing`` (not there and not
            reachable), ``error`` (the copy failed) or ``cancelled``.
        detail: A sentence for a person; with ``Fix:`` when the node cannot run jobs.
        seconds: Time the copy took.
    """

    node: str
    engine: str
    status: str
    detail: str
    seconds: float = 0.0

    @property
    def ready(self) -> bool:
        """Whether the node holds the image now."""
        return self.status in ("present", "loaded")


@dataclass
class Distribution:
    """What :meth:`ImageDistributor.distribute` did.

    Attributes:
        status: ``ok`` (every ready node has the image), ``incomplete`` (some node lacks it),
            ``unavailable`` (the manager or its image is out of reach), ``cancelled`` or ``error``.
        image: The sandbox image (``sandbox.image``).
        reference: What a job's service names: the pushed digest or the image id.
        detail: A sentence for a person; names every node that lacks the image and the fix.
        nodes: Per node.
        pushed: Whether the image was pushed to the registry.
        duration_ms: Wall time.
    """

    status: str
    image: str
    reference: str = ""
    detail: str = ""
    nodes: list[NodeImage] = field(default_factory=list)
    pushed: bool = False
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out = asdict(self)
        out["nodes"] = [asdict(n) | {"ready": n.ready} for n in self.nodes]
        return out


class _Stop(Exception):
    """The distribution cannot go on (status and sentence in the args)."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def registry_name(image: str, registry: str) -> str:
    """``image`` renamed into ``registry``: ``fame-sandbox:latest`` -> ``reg:5000/fame-sandbox:latest``."""
    name = image.split("/")[-1] if "/" in image and _has_registry(image) else image
    return f"{registry.rstrip('/')}/{name}"


def _has_registry(image: str) -> bool:
    first = image.split("/")[0]
    return "." in first or ":" in first or first == "localhost"


def service_reference(info: dict[str, Any], registry: str) -> str:
    """What a job's service should name, from the manager's ``inspect_image`` of the sandbox image.

    With a registry: its pushed digest there (None of them yet: the image id, which only nodes
    that hold the image can run). Without: the image id.
    """
    if registry:
        prefix = registry.rstrip("/") + "/"
        for digest in info.get("RepoDigests") or ():
            if str(digest).startswith(prefix):
                return str(digest)
    return str(info["Id"])


class ImageDistributor:
    """Puts the manager's sandbox image on every node (see the module docstring).

    Args:
        manager: The manager's engine (``sandbox.swarm_manager``) and the image (``sandbox.image``).
        node_engines: Engine URLs of the nodes the app may load the image onto.
        registry: A registry every node can pull from ("" for none).
    """

    def __init__(self, manager: Engine, node_engines: list[str], registry: str = "") -> None:
        self.manager = manager
        self.image = manager.image
        self.node_engines = [url.strip() for url in node_engines if url.strip()]
        self.registry = registry.strip()
        self._node_ids: dict[str, str] = {}  # engine URL -> its Swarm node id

    def distribute(self, progress: Progress, cancel: threading.Event) -> Distribution:
        """Make every reachable node hold the image; never raises for engine problems."""
        started = time.monotonic()
        result = Distribution("ok", self.image)
        report = _Reporter(self.image, progress)
        try:
            client = self.manager.new_client()
        except Exception as exc:
            result.status = "unavailable"
            result.detail = f"The Swarm manager at {self.manager.where} is unreachable ({short_error(exc)})."
        else:
            try:
                self._distribute(client.api, result, report, cancel)
            except _Stop as stop:
                result.status, result.detail = stop.status, stop.detail
            finally:
                client.close()
        result.duration_ms = round((time.monotonic() - started) * 1000, 1)
        done = result.status in ("ok", "incomplete")
        report("done" if done else result.status, 1.0 if done else 0.0, result.detail, force=True)
        log.info("distribute %s: %s (%s)", self.image, result.status, result.detail)
        return result

    def _distribute(self, api: Any, result: Distribution, report: _Reporter, cancel: threading.Event) -> None:
        info = _inspect(api, self.image)
        if info is None:
            raise _Stop(
                "unavailable",
                f"The manager has no {self.image} to hand out. Fix: run `fame sandbox prepare` "
                "(it builds the image on the manager first).",
            )
        image_id = str(info["Id"])
        swarm = api.info().get("Swarm") or {}
        manager_id = str(swarm.get("NodeID", ""))
        nodes = {str(n["ID"]): n for n in api.nodes()}
        hostnames = {i: str(n.get("Description", {}).get("Hostname", i[:12])) for i, n in nodes.items()}
        covered = {manager_id}
        result.nodes.append(
            NodeImage(hostnames.get(manager_id, "manager"), "", "present", "Built here (the manager).")
        )
        if self.registry:
            result.reference = self._push(api, report, cancel)
            result.pushed = True
            covered.update(nodes)  # every node pulls it by digest
        else:
            result.reference = image_id
            steps = max(len(self.node_engines), 1)
            for index, url in enumerate(self.node_engines):
                if cancel.is_set():
                    result.nodes.append(NodeImage(url, url, "cancelled", "Stopped on request."))
                    continue
                node = self._load_onto(api, url, image_id, info, report, index, steps, cancel)
                result.nodes.append(node)
                if node.ready and node.engine in self._node_ids:
                    covered.add(self._node_ids[node.engine])
        for node_id, raw in nodes.items():
            ready = raw.get("Status", {}).get("State") == "ready"
            if node_id not in covered and ready:
                result.nodes.append(
                    NodeImage(
                        hostnames[node_id],
                        "",
                        "missing",
                        f"The app cannot reach the engine of node {hostnames[node_id]}, so it may lack "
                        f"{self.image} (jobs placed there are refused). Fix: add its engine URL to the "
                        "setting sandbox.swarm_node_engines, or set sandbox.registry to a registry every "
                        f"node can pull from, or on that node run `docker load` of `docker save {self.image}`.",
                    )
                )
        self._conclude(result, cancel)

    def _conclude(self, result: Distribution, cancel: threading.Event) -> None:
        lacking = [n for n in result.nodes if not n.ready]
        loaded = [n.node for n in result.nodes if n.status == "loaded"]
        if cancel.is_set():
            result.status = "cancelled"
            result.detail = "Stopped on request; " + _summary(result.nodes)
        elif lacking:
            result.status = "incomplete"
            result.detail = " ".join(f"{n.node}: {n.detail}" for n in lacking)
        elif result.pushed:
            result.detail = f"Pushed {self.image} as {result.reference}; every node pulls it from there."
        else:
            copied = f" (loaded onto {', '.join(loaded)})" if loaded else ""
            result.detail = f"{self.image} is on all {len(result.nodes)} node(s){copied}."

    # --- loading onto one node --------------------------------------------------------------------

    def _load_onto(
        self,
        manager_api: Any,
        url: str,
        image_id: str,
        info: dict[str, Any],
        report: _Reporter,
        index: int,
        steps: int,
        cancel: threading.Event,
    ) -> NodeImage:
        started = time.monotonic()
        try:
            client = Engine(url, self.image).new_client()
        except Exception as exc:
            return NodeImage(
                url, url, "error",
                f"Its engine at {url} is unreachable ({short_error(exc)}). Fix: start that engine, or "
                "correct the URL in sandbox.swarm_node_engines.",
            )  # fmt: skip
        try:
            node_info = client.api.info()
            name = str(node_info.get("Name") or url)
            self._node_ids[url] = str((node_info.get("Swarm") or {}).get("NodeID", ""))
            if _inspect(client.api, image_id) is not None:
                _tag(client.api, image_id, self.image)
                return NodeImage(name, url, "present", f"{self.image} was there already.")
            size = int(info.get("Size") or 0) or 1
            what = f"Loading {self.image} onto {name}"
            report("load", index / steps, f"{what}...", force=True)
            sent = [0]

            def chunks() -> Iterator[bytes]:
                for chunk in manager_api.get_image(self.image, chunk_size=_CHUNK):
                    if cancel.is_set():
                        raise _Stop("cancelled", "Stopped on request.")
                    sent[0] += len(chunk)
                    part = min(sent[0] / size, 0.99)
                    report("load", (index + part) / steps, f"{what}: {part:.0%}")
                    yield chunk

            _load(client.api, chunks())
            if _inspect(client.api, image_id) is None:
                return NodeImage(
                    name, url, "error",
                    f"`docker load` on {name} ended without {self.image} ({image_id[:19]}). Fix: check "
                    "the node's disk space and engine log.",
                )  # fmt: skip
            _tag(client.api, image_id, self.image)
            took = round(time.monotonic() - started, 2)
            report(
                "load", (index + 1) / steps, f"Loaded {self.image} onto {name} in {took:.1f} s", force=True
            )
            return NodeImage(name, url, "loaded", f"Loaded {self.image} in {took:.1f} s.", took)
        except _Stop:
            return NodeImage(url, url, "cancelled", "Stopped on request.")
        except Exception as exc:
            if cancel.is_set():
                return NodeImage(url, url, "cancelled", "Stopped on request.")
            return NodeImage(
                url, url, "error",
                f"Loading {self.image} onto it failed ({short_error(exc)}). Fix: check the node's "
                "engine and disk space, then run `fame sandbox prepare` again.",
            )  # fmt: skip
        finally:
            client.close()

    # --- pushing to a registry --------------------------------------------------------------------

    def _push(self, api: Any, report: _Reporter, cancel: threading.Event) -> str:
        target = registry_name(self.image, self.registry)
        repo, _, tag = target.rpartition(":") if ":" in target.split("/")[-1] else (target, "", "latest")
        api.tag(self.image, repo, tag)
        report("push", 0.0, f"Pushing {target}...", force=True)
        digest = ""
        layers: dict[str, float] = {}
        try:
            for message in api.push(repo, tag, stream=True, decode=True):
                if cancel.is_set():
                    raise _Stop("cancelled", "Stopped on request; the registry may hold a partial push.")
                if "error" in message:
                    raise _Stop(
                        "error",
                        f"Pushing {target} failed ({str(message['error']).strip()[:300]}). Fix: check that "
                        f"{self.registry} is reachable and accepts pushes from this engine (an http "
                        "registry must be in the engine's insecure-registries).",
                    )
                aux = message.get("aux") or {}
                if aux.get("Digest"):
                    digest = str(aux["Digest"])
                layer, detail = message.get("id"), message.get("progressDetail") or {}
                if layer and detail.get("total"):
                    layers[str(layer)] = min(detail.get("current", 0) / detail["total"], 1.0)
                elif layer and str(message.get("status", "")) in ("Pushed", "Layer already exists"):
                    layers[str(layer)] = 1.0
                if layers:
                    part = sum(layers.values()) / len(layers)
                    report("push", part * 0.99, f"Pushing {target}: {part:.0%}")
        except _Stop:
            raise
        except Exception as exc:
            raise _Stop("error", f"Pushing {target} failed ({short_error(exc)}).") from exc
        if not digest:
            info = _inspect(api, self.image) or {}
            reference = service_reference(info, self.registry)
            if "@" not in reference:
                raise _Stop("error", f"Pushing {target} gave no digest.")
            return reference
        return f"{repo}@{digest}"


class _Reporter:
    """Publishes progress, rate-limited, never backwards."""

    def __init__(self, image: str, progress: Progress) -> None:
        self._image = image
        self._progress = progress
        self._last = (-1.0, "", 0.0)

    def __call__(self, stage: str, fraction: float, message: str, *, force: bool = False) -> None:
        last_fraction, last_stage, last_time = self._last
        if stage == last_stage:
            fraction = max(fraction, last_fraction)
        now = time.monotonic()
        if not force and stage == last_stage and now - last_time < _PUBLISH_EVERY_S:
            return
        self._last = (fraction, stage, now)
        self._progress(
            SandboxImageProgress(
                image=self._image, stage=stage, fraction=round(min(fraction, 1.0), 4), message=message
            )
        )


def _summary(nodes: list[NodeImage]) -> str:
    return "; ".join(f"{n.node}: {n.status}" for n in nodes) + "."


def _inspect(api: Any, ref: str) -> dict[str, Any] | None:
    from docker.errors import ImageNotFound  # the Docker SDK loads on first use, not at start-up

    try:
        return dict(api.inspect_image(ref))
    except ImageNotFound:
        return None


def _tag(api: Any, image_id: str, image: str) -> None:
    """Give the node's copy the image's name too (people look for it by name)."""
    repo, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "latest")
    api.tag(image_id, repo, tag or "latest")


def _load(api: Any, data: Iterator[bytes]) -> None:
    """``docker load`` of a streamed tar; raises with the engine's words when it refuses."""
    for message in api.load_image(data):
        if isinstance(message, dict) and message.get("error"):
            raise RuntimeError(str(message["error"])[:300])
