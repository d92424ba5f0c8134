"""What one sandbox run may use (:class:`Limits`) and what it gave (:class:`RunReport`).

A leaf module: the event types (``SandboxStarted.limits``, ``SandboxFinished.report``) and the
sandbox package both import it, so neither imports the other for these types.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from fame_desktop.orchestrator.settings import SandboxSettings

STATUSES = ("ok", "error", "timeout", "oom", "killed", "unavailable")

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

    @classmethod
    def defaults(cls) -> Limits:
        """The limits of the default settings."""
        return cls.from_settings(SandboxSettings())

    def container_key(self) -> tuple[object, ...]:
        """What a pre-started container fixes at creation: runs with the same key can use it."""
        return (self.memory, self.cpus, self.pids, self.tmpfs_size, self.network)

    def to_dict(self) -> dict[str, Any]:
        """The limits as the report shows them."""
        return asdict(self)


@dataclass
class RunReport:
    """The sandbox run report of ARCHITECTURE.md (``to_dict`` is the public shape).

    ``backend`` is ``docker`` (one engine), ``swarm`` (a cluster job), ``local`` (the insecure
    runner) or ``none`` (it did not run).
    """

    run_id: str
    status: str
    backend: str
    image: str
    limits: Limits
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    duration_ms: float = 0.0
    timed_out: bool = False
    oom_killed: bool = False
    detail: str = ""
    insecure: bool = False
    warm: bool = False
    #: The host name of the engine (the cluster node) the program ran on; empty when it did not run.
    node: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able data (``limits`` as a dict)."""
        data = asdict(self)
        data.update(data.pop("extra"))
        return data
