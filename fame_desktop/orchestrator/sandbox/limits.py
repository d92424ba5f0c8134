"""The limits of one sandbox run, and the hardened Docker container configuration they give."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from fame_desktop.orchestrator.settings import SandboxSettings

# Docker's CFS period is 100 ms; the seed passes a quota in microseconds of that period.
CPU_PERIOD_US = 100_000
OPEN_FILES = 256

_SIZE = re.compile(r"^(\d+)([kmg]?)b?$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """Bytes of a Docker size string such as ``512m``, ``64k`` or ``1g``.

    Raises:
        ValueError: When ``text`` is not a size.
    """
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 512m or 1g)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


@dataclass(frozen=True)
class Limits:
    """What one run may use; shown in the report as applied."""

    timeout_seconds: float
    memory: str
    cpus: float
    pids: int
    tmpfs_size: str
    output_limit_bytes: int
    network: bool

    @classmethod
    def from_settings(
        cls,
        settings: SandboxSettings,
        *,
        timeout: float | None = None,
        memory: str | None = None,
        cpus: float | None = None,
        network: bool = False,
    ) -> Limits:
        """The settings' limits with a run's overrides (validated here, before any container)."""
        limits = cls(
            timeout_seconds=float(timeout if timeout is not None else settings.timeout_seconds),
            memory=(memory or settings.memory_limit).lower(),
            cpus=float(cpus if cpus is not None else settings.cpus),
            pids=settings.pids_limit,
            tmpfs_size=settings.tmpfs_size.lower(),
            output_limit_bytes=settings.output_limit_bytes,
            network=network,
        )
        if limits.timeout_seconds <= 0:
            raise ValueError("timeout must be positive")
        if parse_size(limits.memory) < 6 * 1024**2:
            raise ValueError("memory must be at least 6m (Docker's minimum)")
        if limits.cpus <= 0:
            raise ValueError("cpus must be positive")
        parse_size(limits.tmpfs_size)
        return limits

    def container_key(self) -> tuple[object, ...]:
        """What a pre-started container fixes at creation: runs with the same key can use it."""
        return (self.memory, self.cpus, self.pids, self.tmpfs_size, self.network)

    def to_dict(self) -> dict[str, Any]:
        """The limits as the report shows them."""
        return asdict(self)


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
