"""What isolation costs: one plugin call in process (built-in) vs in its own host process (user).

Run: .venv/bin/python benchmarks/bench_plugins.py
The same plugin file is loaded twice through the real ``PluginManager``: once from a trusted folder
(in process, as ``core/`` is) and once from a user folder, approved, in a plugin host process.
Prints the median and p95 of ``PluginManager.call`` for each, the difference (the protocol's cost
per call), the time to start and load a host, and the host's resident memory.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.plugin_api import PluginContext
from fame_desktop.orchestrator.plugin_approval import PluginApprovals
from fame_desktop.orchestrator.plugin_files import digest
from fame_desktop.orchestrator.plugin_loader import PluginManager, PluginRecord
from fame_desktop.orchestrator.secrets import SecretStore
from fame_desktop.orchestrator.settings import SettingsStore

SOURCE = """
PLUGIN = {"name": "echo", "version": "1.0", "description": "Echo.", "intents": {"chat": ["echo"]}}

def handle(request):
    return {"response": "echo: " + request["text"], "data": {"n": len(request["text"])}}
"""
CALLS = 400


def _manager(folder: Path, root: Path, *, trusted: bool) -> PluginManager:
    settings = SettingsStore(root / "settings.json")
    bus = EventBus()

    def context(name: str) -> PluginContext:
        return PluginContext(
            name=name, get_setting=settings.get, publish_event=bus.publish, list_plugins=list, status=dict
        )

    approvals = PluginApprovals(
        root / "plugin_approvals.json", SecretStore(root / "secrets", use_keyring=False)
    )
    approvals.approve("echo", digest(SOURCE.encode()), by="bench")
    return PluginManager(
        [folder], context, bus, approvals=approvals, trusted_folders=[folder] if trusted else []
    )


async def _time_calls(manager: PluginManager, rec: PluginRecord) -> list[float]:
    request = {"id": "q", "text": "hello there", "intent": "chat"}
    for _ in range(20):  # warm up
        await manager.call(rec, request, 10.0)
    samples = []
    for _ in range(CALLS):
        start = time.perf_counter()
        await manager.call(rec, request, 10.0)
        samples.append((time.perf_counter() - start) * 1e3)
    return sorted(samples)


def _rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _report(name: str, samples: list[float]) -> float:
    median = statistics.median(samples)
    print(f"plugins.call.{name}.median: {median:.3f} ms")
    print(f"plugins.call.{name}.p95: {samples[int(len(samples) * 0.95)]:.3f} ms")
    return median


async def main() -> None:
    medians: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, trusted in (("in_process", True), ("host_process", False)):
            folder = Path(tmp) / name
            folder.mkdir()
            (folder / "echo.py").write_text(SOURCE)
            manager = _manager(folder, Path(tmp) / f"{name}-data", trusted=trusted)
            started = time.perf_counter()
            (rec,) = manager.load_all()
            load_ms = (time.perf_counter() - started) * 1e3
            assert rec.status == "loaded", rec.error
            assert rec.builtin is trusted
            print(f"plugins.load.{name}: {load_ms:.0f} ms")
            if rec.process is not None and rec.process.pid is not None:
                rss = _rss_mb(rec.process.pid)
                print(f"plugins.host_rss: {rss:.1f} MB ({rec.process.confinement})")
            try:
                medians[name] = _report(name, await _time_calls(manager, rec))
            finally:
                manager.close()
    print(f"plugins.call.isolation_overhead.median: {medians['host_process'] - medians['in_process']:.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
