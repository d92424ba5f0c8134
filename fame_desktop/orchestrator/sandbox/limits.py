"""The limits of one sandbox run, and the hardened Docker container configuration they give."""

from __future__ import annotations

from typing import Any

# Limits and parse_size live in the leaf module the events import too; imported from here as before.
from fame_desktop.orchestrator.run_report import Limits, parse_size

# Docker's CFS period is 100 ms; the seed passes a quota in microseconds of that period.
CPU_PERIOD_US = 100_000
OPEN_FILES = 256

__all__ = ["CPU_PERIOD_US", "OPEN_FILES", "Limits", "container_config", "host_config", "parse_size"]


def container_config(limits: Limits, image: str, labels: dict[str, str]) -> dict[str, Any]:
    """Keyword arguments of ``APIClient.create_container`` (minus ``host_config``) for a hardened run."""
    return {
        "image": image,
        "user": "65534:65534",
        # detach=False + stdin_open: Docker attaches stdin once, then closes it (StdinOnce).
        "detach": False,
        "stdin_open": True,
        "tty": False,
        "network_disabled": not limits.network,
        "working_dir": "/tmp",
        "hostname": "sandbox",
        "labels": labels,
        "environment": None,
        # Otherwise the SDK copies proxy variables from ~/.docker/config.json into the container.
        "use_config_proxy": False,
    }


def host_config(limits: Limits) -> dict[str, Any]:
    """Keyword arguments of ``APIClient.create_host_config``: every hardening flag of issue 3."""
    from docker.types import LogConfig, Ulimit  # the Docker SDK loads with the first run, not at start-up

    memory = parse_size(limits.memory)
    scratch = parse_size(limits.tmpfs_size)
    return {
        "network_mode": "bridge" if limits.network else "none",
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={scratch},mode=1777"},
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "pids_limit": limits.pids,
        "mem_limit": memory,
        "memswap_limit": memory,
        "nano_cpus": int(limits.cpus * 1e9),
        "ulimits": [
            Ulimit(name="fsize", soft=scratch, hard=scratch),
            Ulimit(name="nofile", soft=OPEN_FILES, hard=OPEN_FILES),
        ],
        "init": True,
        "ipc_mode": "private",
        # Output goes through the attach stream only: no log file grows on the engine's disk.
        "log_config": LogConfig(type="none"),
    }
