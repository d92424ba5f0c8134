"""universal_hacker: non-destructive TCP reachability checks of hosts an admin put on the allow list.

It only opens a TCP connection and closes it again (no payload, no banner grabbing, no UDP, no
ranges); a host that is not on ``capabilities.security_allowlist`` is refused before any packet
is sent. The capability is dangerous and off until an admin enables ``capabilities.security_test``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import Any

from fame_plugin_api import HostSlot, PluginHost, error_result, request_text

PLUGIN = {
    "schema_version": 1,
    "name": "universal_hacker",
    "version": "1.0.0",
    "description": "Security test (dangerous, off by default): non-destructive TCP reachability checks of "
    "hosts on the admin's allow list; never scans ranges.",
    "intents": {
        "security_test": [
            "Test penetration of example.com",
            "check which ports are open on 127.0.0.1",
            "is port 22 open on my server",
            "scan ports 80 and 443 on localhost",
            "run a security test against staging.example.org",
            "check tcp reachability of db.internal port 5432",
            "pentest my web server",
            "is ssh exposed on 10.0.0.5",
        ],
    },
    "keywords": {
        "security_test": [
            "penetration",
            "penetration test",
            "pentest",
            "security test",
            "security audit",
            "vulnerability",
            "vulnerability scan",
            "port",
            "ports",
            "port scan",
            "open ports",
            "scan",
            "probe",
            "reachability",
            "reachable",
            "tcp",
            "exposed",
            "firewall",
            "nmap",
            "hack",
            "hacking",
            "ssh",
            "connectivity",
        ],
    },
    "needs_network": True,
    "dangerous": True,
    "capability": "security_test",
    "timeout_seconds": 60,
}

_HOST = HostSlot("universal_hacker")

COMMON_PORTS: dict[int, str] = {
    21: "ftp", 22: "ssh", 25: "smtp", 53: "dns", 80: "http", 110: "pop3", 143: "imap", 443: "https",
    3306: "mysql", 5432: "postgresql", 6379: "redis", 8080: "http-alt", 8443: "https-alt", 27017: "mongodb",
}  # fmt: skip
SERVICE_PORTS: dict[str, int] = {
    "ftp": 21, "ssh": 22, "smtp": 25, "dns": 53, "http": 80, "web": 80, "pop3": 110, "imap": 143,
    "https": 443, "tls": 443, "mysql": 3306, "mariadb": 3306, "postgres": 5432, "postgresql": 5432,
    "redis": 6379, "mongodb": 27017, "mongo": 27017, "rdp": 3389, "smb": 445,
}  # fmt: skip
MAX_HOSTS = 4
MAX_PORTS = 32
CONNECT_TIMEOUT = 2.0
CONCURRENCY = 16

_IPV4 = r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}"
_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}"
_HOST_RE = re.compile(rf"(?<![\w.-])(?:{_IPV4}|localhost|{_DOMAIN})(?![\w-])(?::(\d{{1,5}}))?", re.IGNORECASE)
# Anything that names more than one address: CIDR, dash ranges, wildcards.
_RANGE_RE = re.compile(
    rf"(?<![\w.]){_IPV4}\s*/\s*\d{{1,2}}\b|(?<![\w.]){_IPV4}\s*-\s*\d{{1,3}}(?:\.\d{{1,3}}){{0,3}}\b|"
    r"\b\d{1,3}(?:\.(?:\d{1,3}|\*)){2,3}\.\*|\*\.[a-z]",
    re.IGNORECASE,
)


def init(manager: PluginHost) -> None:
    """Keep the plugin context (no I/O here)."""
    _HOST.set(manager)


def _norm(host: str) -> str:
    return host.strip().lower().rstrip(".")


def targets_in(text: str, allowlist: list[str]) -> tuple[list[str], dict[str, list[int]]]:
    """Hosts ``text`` names (allow-listed names count even without a dot) and ports given as ``host:port``."""
    hosts: list[str] = []
    host_ports: dict[str, list[int]] = {}
    lowered = text.lower()
    for entry in allowlist:
        e = _norm(entry)
        if e and re.search(rf"(?<![\w.-]){re.escape(e)}(?![\w-])", lowered) and e not in hosts:
            hosts.append(e)
    for m in _HOST_RE.finditer(text):
        host = _norm(m.group(0).split(":")[0])
        if host not in hosts:
            hosts.append(host)
        if m.group(1):
            host_ports.setdefault(host, []).append(int(m.group(1)))
    return hosts, host_ports


def ports_in(text: str) -> list[int]:
    """Ports named in ``text``: "port 22", "ports 80, 443 and 8080", service names like "ssh"."""
    ports: list[int] = []
    lowered = text.lower()
    for m in re.finditer(r"\bports?\s+((?:\d{1,5}(?:\s*(?:,|and|&|or)\s*|\s+))*\d{1,5})", lowered):
        ports.extend(int(p) for p in re.findall(r"\d{1,5}", m.group(1)))
    for m in re.finditer(r"\b(\d{1,5})\s*/\s*tcp\b", lowered):
        ports.append(int(m.group(1)))
    for name, port in SERVICE_PORTS.items():
        if re.search(rf"\b{name}\b", lowered):
            ports.append(port)
    out: list[int] = []
    for p in ports:
        if p not in out:
            out.append(p)
    return out


async def check_port(host: str, port: int, limit_s: float) -> dict[str, Any]:
    """Open and close one TCP connection: ``open``, ``closed``, ``filtered`` (no answer) or ``error``."""
    started = time.perf_counter()
    state, detail = "open", ""
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), limit_s)
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
    except ConnectionRefusedError:
        state = "closed"
    except TimeoutError:
        state, detail = "filtered", f"no answer within {limit_s:g} s"
    except OSError as exc:
        state, detail = "error", exc.strerror or str(exc)
    ms = round((time.perf_counter() - started) * 1000, 1)
    return {
        "host": host,
        "port": port,
        "service": COMMON_PORTS.get(port, ""),
        "state": state,
        "ms": ms,
        "detail": detail,
    }


def _refusal(message: str, **data: Any) -> dict[str, Any]:
    return error_result("not_allowed", message, response=f"🚫 {message}", **data)


async def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Check TCP reachability of allow-listed hosts, and refuse everything else."""
    host_ctx = _HOST.get()
    host_ctx.require_capability("security_test")
    host_ctx.require_network("Security testing")
    text = request_text(request)
    allowlist = [_norm(h) for h in (host_ctx.setting("capabilities.security_allowlist") or []) if _norm(h)]
    if _RANGE_RE.search(text):
        return _refusal(
            "I never scan address ranges, subnets or wildcards. Name single hosts from the allow list "
            f"({', '.join(allowlist) or 'empty'})."
        )
    hosts, host_ports = targets_in(text, allowlist)
    if not hosts:
        listed = ", ".join(allowlist) if allowlist else "the allow list is empty"
        return error_result(
            "no_target",
            f"Name the host to check, e.g. 'check ports 22 and 443 on {allowlist[0] if allowlist else 'HOST'}'. "
            f"Allowed hosts: {listed}.",
        )
    refused = [h for h in hosts if h not in allowlist]
    if refused:
        return _refusal(
            f"{', '.join(refused)} {'is' if len(refused) == 1 else 'are'} not on the security-test allow list, "
            "so nothing was probed. An admin can add hosts they are authorised to test with "
            "`fame admin set capabilities.security_allowlist '[\"host\"]' --admin-key KEY` or in Settings.",
            refused=refused,
        )
    if len(hosts) > MAX_HOSTS:
        return _refusal(f"At most {MAX_HOSTS} hosts per request; you named {len(hosts)}.")
    asked_ports = ports_in(text)
    plan: list[tuple[str, int]] = []
    for h in hosts:
        ports = host_ports.get(h) or asked_ports or list(COMMON_PORTS)
        if len(ports) > MAX_PORTS:
            return _refusal(f"At most {MAX_PORTS} ports per host; you named {len(ports)}.")
        bad = [p for p in ports if not 1 <= p <= 65535]
        if bad:
            return error_result("invalid_request", f"Port numbers must be 1-65535, not {bad[0]}.")
        plan.extend((h, p) for p in ports)
    host_ctx.progress(str(request.get("id", "")), f"Checking {len(plan)} TCP port(s)")
    timeout = min(CONNECT_TIMEOUT, float(host_ctx.setting("services.http_timeout_seconds")))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(h: str, p: int) -> dict[str, Any]:
        async with gate:
            return await check_port(h, p, timeout)

    results = await asyncio.gather(*(one(h, p) for h, p in plan))
    lines = ["TCP reachability (connect and close only, nothing sent):", "", "| host | port | state | time |",
             "|---|---|---|---|"]  # fmt: skip
    for r in results:
        label = f"{r['port']} ({r['service']})" if r["service"] else str(r["port"])
        state = r["state"] + (f" — {r['detail']}" if r["detail"] else "")
        lines.append(f"| {r['host']} | {label} | {state} | {r['ms']:.0f} ms |")
    counts = {s: sum(1 for r in results if r["state"] == s) for s in ("open", "closed", "filtered", "error")}
    lines.append("")
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return {"response": "\n".join(lines), "data": {"results": results, "summary": counts, "hosts": hosts}}
