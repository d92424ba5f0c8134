"""A real two-node Swarm for tests: the local engine (manager) and a second engine in its own
network namespace joined as a worker (``scripts/swarm_worker_up.sh``), torn down afterwards
(``scripts/swarm_worker_down.sh``: the worker leaves, its namespace, data and processes go)."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
#: Seconds between the manager's heartbeats with its nodes during the two-node tests (Swarm's
#: default is 5: a lost node is then noticed after about 15 s; with 1 s, after about 3 s).
HEARTBEAT = "1s"
DEFAULT_HEARTBEAT = "5s"
#: Held while a test module (or benchmarks/bench_swarm_generation.py) uses the worker: two
#: sessions on one machine would otherwise take each other's worker down.
LOCK = Path("/tmp/fame-node2.lock")


def script(name: str, *args: str, timeout: float = 180) -> str:
    """Run ``scripts/NAME``; its stdout. Fails the test with the script's own words."""
    done = subprocess.run(
        [str(SCRIPTS / name), *args], capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )
    if done.returncode != 0:
        raise AssertionError(f"{name} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


@dataclass
class TwoNodes:
    """The cluster: the worker's engine URL, its Swarm node id and host name, the manager's name."""

    worker_engine: str
    worker_id: str
    worker_name: str
    manager_name: str

    def worker_api(self) -> Any:
        """A low-level client of the worker's own engine (close it after use)."""
        return docker.APIClient(base_url=self.worker_engine, version="1.41", timeout=30)

    def stop_jobs(self) -> int:
        """SIGSTOP every process of the worker's containers: a job caught running cannot finish in
        the moment a kill takes. How many processes were stopped."""
        return self._signal_jobs(signal.SIGSTOP)

    def kill_jobs(self) -> int:
        """SIGKILL every process of the worker's containers (the worker's engine, still alive,
        reports their tasks failed). How many processes were killed."""
        return self._signal_jobs(signal.SIGKILL)

    def _signal_jobs(self, sig: signal.Signals) -> int:
        """Send ``sig`` to the worker's containers' processes (their cgroups, under the engine's
        cgroup parent ``/fame-node2``)."""
        sent = 0
        for procs in glob.glob("/sys/fs/cgroup/pids/fame-node2/*/cgroup.procs"):
            with contextlib.suppress(OSError):
                for pid in Path(procs).read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), sig)
                        sent += 1
        return sent

    def kill_worker(self) -> None:
        """A lost node: SIGKILL to the worker's engine, containerd, shims and containers."""
        script("swarm_worker_down.sh", "--kill", timeout=60)

    def worker_containers(self) -> list[str]:
        """Names of every container on the worker's engine."""
        api = self.worker_api()
        try:
            return [str(c["Names"][0]) for c in api.containers(all=True)]
        finally:
            api.close()


def tasks_per_node(api: Any, states: tuple[str, ...] = ("running",)) -> Counter[str]:
    """Tasks in ``states`` now, by node id (the manager's view)."""
    tasks = api.tasks(filters={"desired-state": "running"})
    return Counter(str(t.get("NodeID", "")) for t in tasks if t.get("Status", {}).get("State") in states)


def bring_up(api: Any) -> Iterator[TwoNodes]:
    """Start the worker, join it, speed up the heartbeat; on exit undo all and check nothing is left."""
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield from _bring_up(api)


def _bring_up(api: Any) -> Iterator[TwoNodes]:
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in script("swarm_worker_up.sh").splitlines()
        if line.startswith("export ")
    )
    subprocess.run(
        ["docker", "swarm", "update", "--dispatcher-heartbeat", HEARTBEAT], check=True, capture_output=True
    )
    try:
        yield TwoNodes(
            worker_engine=exports["FAME_NODE2_ENGINE"],
            worker_id=exports["FAME_NODE2_ID"],
            worker_name=exports["FAME_NODE2_HOSTNAME"],
            manager_name=str(api.info()["Name"]),
        )
    finally:
        subprocess.run(
            ["docker", "swarm", "update", "--dispatcher-heartbeat", DEFAULT_HEARTBEAT], capture_output=True
        )
        script("swarm_worker_down.sh")
    assert not Path("/var/run/netns/fame-node2").exists(), "the worker's network namespace is left"
    assert not Path("/var/lib/fame-node2").exists(), "the worker's data root is left"
    names = {str(n["Description"]["Hostname"]) for n in api.nodes()}
    assert "fame-node2" not in names, f"the manager still lists the worker: {names}"


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    """Poll ``predicate()`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)
