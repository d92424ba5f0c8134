"""The Swarm service of one sandbox job: the hardened task template, its config and network.

The same hardening as a local run (see :mod:`.limits`) wherever a Swarm service on engine 20.10
(API 1.41) can express it; what differs is compensated for and said here:

- ``--network none`` does not exist for services: each job gets its own ``internal`` overlay
  network (no gateway, no route out, not to the host, and no other job is on it).
- ``no-new-privileges`` cannot be asked for: the job's main process sets ``no_new_privs`` itself
  before the program starts (``resources/swarm/job.py``).
- Swap cannot be set equal to memory: the engine allows as much swap again as memory.
- Output goes through the engine's log (json-file, capped) instead of an attached stream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from fame_desktop.orchestrator.paths import resource_root
from fame_desktop.orchestrator.sandbox.limits import OPEN_FILES, Limits, parse_size
from fame_desktop.orchestrator.sandbox.swarm_cluster import EXPIRES, OWNER, RUN

#: Where the program (a Swarm config) is mounted in the job's container.
PROGRAM_PATH = "/run/fame/main.py"
#: A job that waited this long for a node to start it is given up (``unavailable``).
SCHEDULE_LIMIT_S = 120.0
#: Kept after the deadline before leftovers count as abandoned (see ``Cluster.leftovers``).
EXPIRY_MARGIN_S = 300.0
#: The job stops its program at the time limit on its node; the app waits this much longer for the
#: job's end line before it looks at whether the node is gone (see ``SwarmJob``).
JOB_CLOCK_GRACE_S = 2.0


@cache
def job_script() -> str:
    """The job's main process (``resources/swarm/job.py``), passed as ``python3 -c``."""
    return (resource_root() / "swarm" / "job.py").read_text(encoding="utf-8")


@dataclass(frozen=True)
class JobNames:
    """The names of one job's objects on the manager."""

    service: str
    config: str
    network: str

    @classmethod
    def of(cls, run_id: str) -> JobNames:
        """The names for run ``run_id``."""
        return cls(f"fame-job-{run_id}", f"fame-job-{run_id}-code", f"fame-job-{run_id}-net")


def job_labels(owner: str, run_id: str, limits: Limits) -> dict[str, str]:
    """The labels of every object of a job: whose, which run, and when it is surely abandoned."""
    expires = time.time() + SCHEDULE_LIMIT_S + limits.timeout_seconds + EXPIRY_MARGIN_S
    return {OWNER: owner, RUN: run_id, EXPIRES: f"{expires:.0f}"}


def task_template(
    *,
    image: str,
    limits: Limits,
    nonce: str,
    config_id: str,
    config_name: str,
    network_id: str,
    labels: dict[str, str],
    constraints: list[str] | None = None,
) -> dict[str, Any]:
    """The ``TaskTemplate`` of a job's service: one hardened container running the program.

    ``constraints`` are Swarm placement constraints (``node.id==...``: see :mod:`.swarm_nodes`).
    """
    memory = parse_size(limits.memory)
    scratch = parse_size(limits.tmpfs_size)
    # Both streams of one run are kept up to the output limit; the log holds them with some
    # framing, and the engine never keeps more than this on the node's disk.
    log_size = 2 * limits.output_limit_bytes + (256 << 10)
    return {
        "ContainerSpec": {
            "Image": image,
            "Command": ["python3"],
            "Args": [
                "-u",
                "-B",
                "-I",
                "-c",
                job_script(),
                PROGRAM_PATH,
                nonce,
                f"{limits.timeout_seconds:g}",
            ],
            "User": "65534:65534",
            "Dir": "/tmp",
            "Hostname": "sandbox",
            "Labels": labels,
            "ReadOnly": True,
            "Init": True,
            "CapabilityDrop": ["ALL"],
            "Mounts": [
                {
                    "Type": "tmpfs",
                    "Target": "/tmp",
                    "TmpfsOptions": {"SizeBytes": scratch, "Mode": 0o1777},
                }
            ],
            "Configs": [
                {
                    "File": {"Name": PROGRAM_PATH, "UID": "0", "GID": "0", "Mode": 0o444},
                    "ConfigID": config_id,
                    "ConfigName": config_name,
                }
            ],
            "Ulimits": [
                {"Name": "fsize", "Soft": scratch, "Hard": scratch},
                {"Name": "nofile", "Soft": OPEN_FILES, "Hard": OPEN_FILES},
            ],
            # Removing the service is the kill: no grace period, no polite signal first.
            "StopSignal": "SIGKILL",
            "StopGracePeriod": 0,
        },
        "Resources": {
            "Limits": {"NanoCPUs": int(limits.cpus * 1e9), "MemoryBytes": memory, "Pids": limits.pids}
        },
        "RestartPolicy": {"Condition": "none", "MaxAttempts": 0},
        "LogDriver": {"Name": "json-file", "Options": {"max-size": str(log_size), "max-file": "1"}},
        "Networks": [{"Target": network_id}],
        "Placement": {"Constraints": list(constraints or [])},
    }


#: The service mode of a job: one replica that is never restarted, so it runs to completion once.
#: Not ``replicated-job``: on engine 20.10 removing a job service leaves its task behind for good
#: (moby/moby#44312, fixed in swarmkit#3112 for Docker 23), and with it the stopped container and
#: the node's copy of the job's network; a replicated service's tasks go with it.
JOB_MODE = {"Replicated": {"Replicas": 1}}
