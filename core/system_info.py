"""system_info: time, date, version, sandbox, network, voice, plugin, memory and uptime status."""

from __future__ import annotations

import os
import re
import resource
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from fame_plugin_api import HostSlot, PluginHost, request_text

PLUGIN = {
    "schema_version": 1,
    "name": "system_info",
    "version": "1.0.0",
    "description": "Time, date, version, Docker sandbox, network, voice, plugin, memory and uptime status.",
    "intents": {
        "system_info": [
            "what time is it",
            "what's the date today",
            "what day of the week is it",
            "system status",
            "is docker available",
            "is the network on",
            "which plugins are loaded",
            "how much memory are you using",
            "what version is this",
            "how long have you been up",
        ],
    },
    "keywords": {
        "system_info": [
            "what time",
            "time is it",
            "current time",
            "the time",
            "time now",
            "local time",
            "clock",
            "date",
            "today's date",
            "day of the week",
            "what day",
            "status",
            "system status",
            "status report",
            "system info",
            "version",
            "docker",
            "sandbox",
            "container",
            "network",
            "internet",
            "online",
            "offline",
            "voice",
            "microphone",
            "speech",
            "plugins",
            "plugin",
            "modules",
            "loaded",
            "failing",
            "failed",
            "memory",
            "ram",
            "uptime",
            "how long",
            "running",
            "health",
            "diagnostics",
        ],
    },
    "needs_network": False,
    "timeout_seconds": 5,
}

_HOST = HostSlot("system_info")

# Which words ask for which part of the status (whole words, checked on the lower-cased query).
TOPICS: dict[str, tuple[str, ...]] = {
    "time": (r"time", r"clock", r"o'?clock", r"hour"),
    "date": (r"date", r"today", r"day", r"weekday", r"month", r"year"),
    "version": (r"version", r"release", r"build"),
    "docker": (r"docker", r"sandbox", r"containers?"),
    "network": (r"network", r"internet", r"online", r"offline", r"connected"),
    "voice": (r"voice", r"microphone", r"mic", r"speech", r"vosk", r"tts", r"speak"),
    "plugins": (r"plugins?", r"modules?", r"loaded", r"failing", r"failed", r"skills?"),
    "memory": (r"memory", r"ram", r"rss"),
    "uptime": (r"uptime", r"been up", r"up for", r"how long", r"running since", r"been running", r"started"),
}
OVERVIEW_WORDS = (r"status", r"overview", r"report", r"health", r"system info", r"everything", r"diagnostics")


def init(manager: PluginHost) -> None:
    """Keep the plugin context (no I/O here)."""
    _HOST.set(manager)


def topics_asked(text: str) -> list[str]:
    """The status parts ``text`` asks about, in a stable order; empty means 'the overview'."""
    lowered = text.lower()
    if any(re.search(rf"\b{w}\b", lowered) for w in OVERVIEW_WORDS):
        return []
    found = [t for t, words in TOPICS.items() if any(re.search(rf"\b{w}\b", lowered) for w in words)]
    # "what time is it today" is about time; "day" and "date" only mean the date on their own.
    if "time" in found and "date" in found and not re.search(r"\b(date|day of the week|weekday)\b", lowered):
        found.remove("date")
    # "how long have you been running" is uptime, not the plugins' state.
    if "uptime" in found and "plugins" in found and not re.search(r"\bplugins?|modules?\b", lowered):
        found.remove("plugins")
    return found


def memory_info() -> dict[str, Any]:
    """Resident memory of this process and the machine's total/available memory, in MiB."""
    out: dict[str, Any] = {
        "process_rss_mib": None,
        "process_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "system_total_mib": None,
        "system_available_mib": None,
    }
    fields = _proc_fields(Path("/proc/self/status"))
    if "VmRSS" in fields:
        out["process_rss_mib"] = round(fields["VmRSS"] / 1024, 1)
    meminfo = _proc_fields(Path("/proc/meminfo"))
    if "MemTotal" in meminfo:
        out["system_total_mib"] = round(meminfo["MemTotal"] / 1024, 1)
    if "MemAvailable" in meminfo:
        out["system_available_mib"] = round(meminfo["MemAvailable"] / 1024, 1)
    return out


def _proc_fields(path: Path) -> dict[str, int]:
    """``Key:   123 kB`` lines of a /proc file as kB integers (empty off Linux)."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return {}
    out: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"(\w+):\s+(\d+)\s*kB", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def system_uptime_seconds() -> float | None:
    """Seconds since the machine booted (``/proc/uptime``), if known."""
    try:
        return float(Path("/proc/uptime").read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def format_duration(seconds: float) -> str:
    """``2 d 3 h 4 min`` / ``5 min 6 s``."""
    s = int(seconds)
    days, s = divmod(s, 86_400)
    hours, s = divmod(s, 3_600)
    minutes, s = divmod(s, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    if not days and not hours:
        parts.append(f"{s} s")
    return " ".join(p for p in parts if p)


def _section(topic: str, status: dict[str, Any], now: datetime) -> tuple[str, Any]:
    if topic == "time":
        zone = now.strftime("%Z") or now.strftime("UTC%z")
        return f"🕒 It is **{now.strftime('%H:%M')}** ({zone}).", {"iso": now.isoformat(timespec="seconds")}
    if topic == "date":
        return (
            f"📅 Today is **{now.strftime('%A')}, {now.day} {now.strftime('%B %Y')}**.",
            {"date": now.date().isoformat(), "weekday": now.strftime("%A")},
        )
    if topic == "version":
        version = status.get("version", "unknown")
        return f"FAME Desktop version **{version}**.", version
    if topic == "docker":
        docker = status.get("docker") or {}
        if docker.get("available"):
            line = f"🐳 Sandbox: **available** ({docker.get('backend', 'docker')}, image `{docker.get('image', '?')}`)."
        else:
            line = f"🐳 Sandbox: **not available** — {docker.get('detail') or 'not set up in this build'}."
        return line, docker or {"available": False}
    if topic == "network":
        on = status.get("network")
        if on is None:
            on = _HOST.get().network_allowed
        line = (
            "🌐 Network: **on** (plugins may reach the internet)."
            if on
            else "🌐 Network: **off** — an admin can enable it in Settings (Network)."
        )
        return line, bool(on)
    if topic == "voice":
        voice = status.get("voice") or {}
        state = "available" if voice.get("available") else "not available"
        detail = f" — {voice['detail']}" if voice.get("detail") else ""
        return f"🎤 Voice: **{state}**{detail}.", voice or {"available": False}
    if topic == "plugins":
        return _plugins_section(status)
    if topic == "memory":
        mem = memory_info()
        rss = mem["process_rss_mib"] or mem["process_peak_rss_mib"]
        line = f"🧠 Memory: FAME uses **{rss:.0f} MiB**"
        if mem["system_total_mib"] and mem["system_available_mib"] is not None:
            line += f"; the system has {mem['system_available_mib'] / 1024:.1f} GiB free of {mem['system_total_mib'] / 1024:.1f} GiB"
        return line + ".", mem
    if topic == "uptime":
        app = status.get("uptime_s")
        system = system_uptime_seconds()
        bits = []
        if isinstance(app, int | float):
            bits.append(f"FAME has been running for **{format_duration(app)}**")
        if system is not None:
            bits.append(f"the system for {format_duration(system)}")
        line = "⏱️ " + ("; ".join(bits) if bits else "Uptime is not known") + "."
        return line, {"app_s": app, "system_s": system}
    raise ValueError(topic)


def _plugins_section(status: dict[str, Any]) -> tuple[str, Any]:
    plugins = status.get("plugins") or {}
    loaded = list(plugins.get("loaded") or [])
    failed = dict(plugins.get("failed") or {})
    disabled = list(plugins.get("disabled") or [])
    if not plugins:
        listed = _HOST.get().list_plugins()
        loaded = [p["name"] for p in listed if p.get("status") == "loaded"]
        failed = {p["name"]: p.get("error") for p in listed if p.get("status") == "failed"}
        disabled = [p["name"] for p in listed if p.get("status") == "disabled"]
    line = f"🧩 Plugins: **{len(loaded)} loaded** ({', '.join(sorted(loaded)) or 'none'})"
    if failed:
        reasons = "; ".join(f"{name}: {why}" for name, why in sorted(failed.items()))
        line += f"; **{len(failed)} failed** ({reasons})"
    else:
        line += "; none failed"
    if disabled:
        line += f"; disabled: {', '.join(sorted(disabled))}"
    return line + ".", {"loaded": loaded, "failed": failed, "disabled": disabled}


def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Answer what was asked: one part ('what time is it') or the overview ('status')."""
    host = _HOST.get()
    status = host.status() or {}
    now = datetime.now().astimezone()
    asked = topics_asked(request_text(request))
    topics = asked or list(TOPICS)
    lines: list[str] = []
    data: dict[str, Any] = {"topics": topics, "pid": os.getpid(), "checked_at": time.time()}
    for topic in topics:
        line, value = _section(topic, status, now)
        lines.append(line)
        data[topic] = value
    if not asked:
        lines.insert(0, "**FAME status**")
        if status.get("admin_unlocked") is not None:
            lines.append("🔑 Admin: " + ("unlocked." if status["admin_unlocked"] else "locked."))
        if status.get("data_dir"):
            lines.append(f"📁 Data dir: `{status['data_dir']}`.")
    if len(lines) == 1:
        body = lines[0]
    elif not asked:
        body = "\n".join([lines[0], *(f"- {line}" for line in lines[1:])])
    else:
        body = "\n".join(f"- {line}" for line in lines)
    return {"response": body, "data": data}
