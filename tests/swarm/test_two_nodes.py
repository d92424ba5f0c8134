"""The Swarm backend on a real two-node cluster (the local engine and a second engine in its own
network namespace, joined as a worker): the image handed to the worker by ``prepare``, jobs on
both nodes within the per-node limit, a worker killed in the middle of an evolution generation,
and nothing left on either node."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fame_desktop.app import build_app
from fame_desktop.orchestrator.events import SandboxFinished, SandboxImageProgress
from fame_desktop.orchestrator.sandbox.engine import owner_id
from fame_desktop.orchestrator.sandbox.swarm_cluster import OWNER
from fame_desktop.orchestrator.settings import SettingsStore
from tests.swarm.conftest import MANAGER_ADDR, SwarmFactory, wait_no_objects
from tests.swarm.registry import Registry, serve
from tests.swarm.two_nodes import TwoNodes, bring_up, script, tasks_per_node, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]

IMAGE = "fame-sandbox:latest"


@pytest.fixture(scope="module")
def two_nodes(swarm_engine: None) -> Iterator[TwoNodes]:
    """The local swarm plus a fresh worker (without the sandbox image) for this module."""
    import docker

    client = docker.from_env(version="1.41")
    try:
        yield from bring_up(client.api)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def worker_back(two_nodes: TwoNodes) -> Iterator[None]:
    """After each test the worker runs again: a test that failed with it killed must not fail the
    next ones too (the killed-worker tests bring it back themselves when they pass)."""
    yield
    api = two_nodes.worker_api()
    try:
        api.ping()
    except Exception:
        script("swarm_worker_up.sh")
    finally:
        api.close()


def _has_image(nodes: TwoNodes, image_id: str) -> bool:
    api = nodes.worker_api()
    try:
        return any(i["Id"] == image_id for i in api.images())
    finally:
        api.close()


async def test_prepare_loads_the_image_onto_the_worker_and_jobs_run_there(
    two_nodes: TwoNodes, make_swarm: SwarmFactory, docker_api: Any
) -> None:
    image_id = str(docker_api.inspect_image(IMAGE)["Id"])
    assert not _has_image(two_nodes, image_id), "the worker must start without the image"
    swarm = await make_swarm(swarm_node_engines=[two_nodes.worker_engine], per_node_concurrency=1)
    events: list[SandboxImageProgress] = []
    result = await swarm.prepare_image(progress=events.append)
    assert result.status == "ok", result
    assert _has_image(two_nodes, image_id)
    loads = [e for e in events if e.stage == "load"]
    assert loads and any(two_nodes.worker_name in e.message for e in loads), [e.message for e in events]
    fractions = [e.fraction for e in loads]
    assert fractions == sorted(fractions) and len(set(fractions)) > 2, fractions
    assert events[-1].stage == "done" and events[-1].fraction == 1.0
    assert two_nodes.worker_name in result.detail

    # One slot per node and two runs at once: one of them runs on the worker, from the image id.
    reports = await asyncio.gather(*(swarm.run("import time; time.sleep(0.5); print(6*7)") for _ in range(2)))
    assert [r.status for r in reports] == ["ok", "ok"], [r.detail for r in reports]
    assert [r.stdout for r in reports] == ["42\n", "42\n"]
    assert {r.node for r in reports} == {two_nodes.manager_name, two_nodes.worker_name}

    # A second prepare finds the image on both nodes and copies nothing.
    events.clear()
    again = await swarm.prepare_image(progress=events.append)
    assert again.status == "ok" and not [e for e in events if e.stage == "load"], again


async def test_prepare_names_a_node_it_cannot_reach(two_nodes: TwoNodes, make_swarm: SwarmFactory) -> None:
    swarm = await make_swarm(swarm_node_engines=["unix:///var/run/fame-no-such-node.sock"])
    result = await swarm.prepare_image()
    assert result.status == "error", result
    # The worker's engine is not listed: the result names it and says how to fix that.
    assert two_nodes.worker_name in result.detail
    assert "sandbox.swarm_node_engines" in result.detail and "fame-no-such-node" in result.detail


async def test_runs_spread_over_both_nodes_within_the_per_node_limit(
    two_nodes: TwoNodes, make_swarm: SwarmFactory, docker_api: Any
) -> None:
    swarm = await make_swarm(swarm_node_engines=[two_nodes.worker_engine], per_node_concurrency=2)
    assert (await swarm.prepare_image()).status == "ok"
    assert swarm.status()["max_concurrency"] == 4  # two nodes, two each
    # Each program says when it started and ended (the nodes share this machine's clock).
    code = "import time; t = time.time(); time.sleep(1.0); print({i}, t, time.time())"
    reports = await asyncio.gather(*(swarm.run(code.replace("{i}", str(i))) for i in range(8)))
    assert [r.status for r in reports] == ["ok"] * 8, [r.detail for r in reports]
    assert [r.stdout.split()[0] for r in reports] == [str(i) for i in range(8)]
    where = Counter(r.node for r in reports)
    assert set(where) == {two_nodes.manager_name, two_nodes.worker_name}, where
    assert min(where.values()) >= 2, where
    for node in where:
        spans = [tuple(map(float, r.stdout.split()[1:])) for r in reports if r.node == node]
        most = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
        assert most <= 2, (node, spans)  # never more than per_node_concurrency at once

    # Nothing left: no job object on the manager, no container on either node.
    assert wait_no_objects(docker_api, owner_id()) == []
    wait_for(lambda: not two_nodes.worker_containers(), 30, "the worker's containers to go")
    assert docker_api.containers(all=True, filters={"label": f"{OWNER}={owner_id()}"}) == []


async def test_job_containers_whose_service_is_gone_are_swept_off_the_nodes(
    two_nodes: TwoNodes, make_swarm: SwarmFactory, docker_api: Any
) -> None:
    """What a node lost mid-run (or a crashed app) left on the node's own engine, out of Swarm's
    sight, goes when the app starts; a job container whose service is alive stays."""
    worker = two_nodes.worker_api()
    try:
        image_id = str(docker_api.inspect_image(IMAGE)["Id"])
        assert _has_image(two_nodes, image_id)  # loaded by the first test of this module
        live = docker_api.create_service(
            # An init, so the removal's SIGTERM ends it at once (sleep as pid 1 ignores it: its
            # container ran 10 s more and held the image the next test removes).
            {"ContainerSpec": {"Image": image_id, "Command": ["sleep", "600"], "Init": True}},
            name="fame-test-live-job",
            labels={OWNER: owner_id()},  # this app's own: the start's reaper leaves it alone
        )
        stray = worker.create_container(
            image_id, ["sleep", "600"],
            labels={OWNER: "fame-test-stray", "com.docker.swarm.service.id": "no-such-service"},
        )  # fmt: skip
        alive = worker.create_container(
            image_id, ["sleep", "600"],
            labels={OWNER: owner_id(), "com.docker.swarm.service.id": live["ID"]},
        )  # fmt: skip
        await make_swarm(swarm_node_engines=[two_nodes.worker_engine])

        def gone(ident: str) -> bool:
            return not worker.containers(all=True, filters={"id": ident})

        await asyncio.to_thread(wait_for, lambda: gone(stray["Id"]), 30, "the stray job container to go")
        assert not gone(alive["Id"]), "a container of a live service was removed"
    finally:
        worker.remove_container(alive["Id"], force=True)
        docker_api.remove_service(live["ID"])
        worker.close()


@pytest.fixture(scope="module")
def registry(two_nodes: TwoNodes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A TLS registry at the manager's Swarm address, which the worker reaches too."""
    yield from serve(tmp_path_factory.mktemp("registry"), MANAGER_ADDR)


async def test_prepare_pushes_to_a_registry_and_the_worker_pulls_from_it(
    two_nodes: TwoNodes, registry: Registry, make_swarm: SwarmFactory, docker_api: Any
) -> None:
    image_id = str(docker_api.inspect_image(IMAGE)["Id"])
    worker = two_nodes.worker_api()
    try:
        if _has_image(two_nodes, image_id):  # loaded by an earlier test of this module
            # Containers of the earlier tests' jobs may still be stopping on the worker.
            def unused() -> bool:
                return not worker.containers(filters={"ancestor": image_id, "status": "running"})

            await asyncio.to_thread(wait_for, unused, 60, "the worker's containers of the image to stop")
            worker.remove_image(image_id, force=True)
    finally:
        worker.close()
    assert not _has_image(two_nodes, image_id)
    # No engine URL of the worker: only the registry can bring it the image.
    swarm = await make_swarm(registry=registry.address, per_node_concurrency=1)
    events: list[SandboxImageProgress] = []
    result = await swarm.prepare_image(progress=events.append)
    assert result.status == "ok", result
    pushed = f"{registry.address}/fame-sandbox@sha256:"
    assert pushed in result.detail, result.detail
    pushes = [e for e in events if e.stage == "push"]
    assert pushes and pushes[0].fraction == 0.0 and "Pushing" in pushes[0].message, [
        e.message for e in events
    ]
    assert [e.fraction for e in pushes] == sorted(e.fraction for e in pushes)
    assert events[-1].stage == "done" and events[-1].fraction == 1.0
    assert "fame-sandbox" in registry.get("/v2/_catalog")["repositories"]  # type: ignore[operator]
    assert registry.get("/v2/fame-sandbox/tags/list")["tags"] == ["latest"]

    # One slot per node and two runs at once: the worker pulls the pushed digest and runs one.
    reports = await asyncio.gather(*(swarm.run("import time; time.sleep(0.5); print(6*7)") for _ in range(2)))
    assert [r.status for r in reports] == ["ok", "ok"], [r.detail for r in reports]
    assert [r.stdout for r in reports] == ["42\n", "42\n"]
    assert {r.node for r in reports} == {two_nodes.manager_name, two_nodes.worker_name}
    worker = two_nodes.worker_api()
    try:
        digests = [d for i in worker.images() for d in i.get("RepoDigests") or ()]
    finally:
        worker.close()
    assert any(d.startswith(pushed) for d in digests), digests
    assert wait_no_objects(docker_api, owner_id()) == []
    docker_api.remove_image(f"{registry.address}/fame-sandbox:latest")  # the push's tag, not the image


async def test_a_worker_killed_mid_generation_has_its_candidates_run_elsewhere(
    two_nodes: TwoNodes, tmp_path: Path, docker_api: Any
) -> None:
    settings = SettingsStore(tmp_path / "settings.json")
    settings.update(
        {
            "sandbox.backend": "swarm",
            "sandbox.swarm_node_engines": [two_nodes.worker_engine],
            "sandbox.per_node_concurrency": 3,
        },
        admin=True,
    )
    app = build_app(tmp_path)
    try:
        await app.brain.start()
        await app.sandbox.start()  # as the window and `fame serve` do: it probes and sweeps the nodes
        assert (await app.sandbox.prepare_image()).status == "ok"
        finished: list[Any] = []
        app.bus.subscribe(SandboxFinished, lambda e: finished.append(e.report))
        run = asyncio.create_task(
            app.services.evolution.run("optimize string reversal", population=12, generations=1)
        )

        # Kill the worker while candidates run on it. Every process on the worker is stopped as
        # soon as it appears, so no candidate can finish there first (a fast one did, and whole
        # generations ended on the manager before the kill, under load): what the kill finds on
        # the worker is lost with it, as on a machine that loses power.
        stopping = threading.Event()

        def keep_stopping() -> None:
            while not stopping.is_set():
                two_nodes.stop_jobs()
                time.sleep(0.01)

        stopper = threading.Thread(target=keep_stopping, daemon=True)
        stopper.start()
        try:

            def caught_running() -> bool:
                if run.done():
                    return True
                # Starting counts: a container whose processes are stopped as it starts stays so.
                on_worker = tasks_per_node(docker_api, ("starting", "running"))[two_nodes.worker_id]
                return on_worker > 0 and two_nodes.stop_jobs() > 0

            await asyncio.to_thread(wait_for, caught_running, 120, "a candidate running on the worker")
            assert not run.done(), "the generation ended before the worker could be killed"
            await asyncio.to_thread(two_nodes.kill_worker)
        finally:
            stopping.set()
            stopper.join()
        record = await asyncio.wait_for(run, 240)

        assert record.status == "finished", record.message
        candidates = record.results[0]["candidates"]
        assert len(candidates) >= 6, candidates  # the breeder keeps distinct programs only
        statuses = Counter(c["fitness"]["status"] for c in candidates)
        assert "unavailable" not in statuses and "timeout" not in statuses, statuses
        untested = [c["fitness"] for c in candidates if c["fitness"]["passed"] + c["fitness"]["failed"] == 0]
        assert not untested, untested
        nodes = {c["fitness"]["node"] for c in candidates}
        assert two_nodes.manager_name in nodes, nodes
        rerun = [r for r in finished if two_nodes.worker_name in r.extra.get("lost_nodes", [])]
        assert rerun, "no run was lost with the worker and run again"
        assert all(r.status != "unavailable" and r.node == two_nodes.manager_name for r in rerun), rerun
        assert wait_no_objects(docker_api, owner_id()) == []

        # The lost node comes back (same data root, it rejoins by itself): the job containers it
        # held when it died belong to services that are gone; Swarm or the app's sweep removes them.
        await asyncio.to_thread(script, "swarm_worker_up.sh")
        left = two_nodes.worker_containers()

        def swept() -> bool:
            app.sandbox.status()  # what the window's status bar asks every few seconds
            return not two_nodes.worker_containers()

        # Eventually, not at once: the worker's engine restores its containers' state as it comes back.
        await asyncio.to_thread(wait_for, swept, 120, f"the returned worker's job containers {left} to go")
    finally:
        await app.aclose()


async def test_a_job_killed_as_its_node_dies_runs_again_elsewhere(
    two_nodes: TwoNodes, make_swarm: SwarmFactory, docker_api: Any
) -> None:
    # A dying node can report its containers killed before the manager marks it down: the job's
    # task is "failed" (exit 137), not left "running". Forced here: the job's processes are killed
    # first, and the worker once the manager has the task as failed.
    swarm = await make_swarm(swarm_node_engines=[two_nodes.worker_engine], per_node_concurrency=1)
    assert (await swarm.prepare_image()).status == "ok"
    code = "import time; print('start', flush=True); time.sleep(4); print('end')"
    runs = [asyncio.create_task(swarm.run(code)) for _ in range(2)]  # one on each node

    def worker_task_state() -> str:
        tasks = docker_api.tasks(filters={"node": two_nodes.worker_id})  # only this test's job is there
        return str(tasks[0]["Status"]["State"]) if tasks else ""

    await asyncio.to_thread(wait_for, lambda: worker_task_state() == "running", 120, "a job on the worker")
    await asyncio.to_thread(wait_for, lambda: two_nodes.kill_jobs() > 0, 30, "the worker's job processes")
    await asyncio.to_thread(
        wait_for, lambda: worker_task_state() == "failed", 30, "the killed job's task to fail"
    )
    await asyncio.to_thread(two_nodes.kill_worker)
    reports = await asyncio.wait_for(asyncio.gather(*runs), 120)

    assert [r.status for r in reports] == ["ok", "ok"], [r.detail for r in reports]
    assert all(r.stdout == "start\nend\n" for r in reports), [r.stdout for r in reports]
    rerun = [r for r in reports if r.extra.get("lost_nodes")]
    assert len(rerun) == 1 and rerun[0].extra["lost_nodes"] == [two_nodes.worker_name], [
        r.extra for r in reports
    ]
    assert rerun[0].node == two_nodes.manager_name
    assert rerun[0].detail.startswith(f"Run again after losing node(s) {two_nodes.worker_name}.")
    assert wait_no_objects(docker_api, owner_id()) == []

    await asyncio.to_thread(script, "swarm_worker_up.sh")  # the worker back, as the module found it

    def swept() -> bool:
        swarm.status()  # what the window's status bar asks every few seconds
        return not two_nodes.worker_containers()

    await asyncio.to_thread(wait_for, swept, 60, "the worker's containers to go")
