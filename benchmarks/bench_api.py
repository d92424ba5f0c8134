"""Load test of the REST API on loopback: N concurrent clients x M ``POST /query`` (calculate).

Starts a real ``fame serve`` on 127.0.0.1 over a temp data dir (rate limit raised for the
benchmark's key through the settings) and drives it over real HTTP/1.1 keep-alive connections. The
clients are plain asyncio streams rather than an HTTP library, so the load generator (on the same
two cores) costs as little CPU as possible and the figures are the server's: the requests are
built once, and each connection is an asyncio Protocol that finds the end of the answer by its
Content-Length (no stream buffering, no regular expressions). Its CPU per request is printed
too (on two cores the load generator and the server share the CPU). Every request carries
the key and must come back 200 with no error; the audit log must gain exactly one ``api_request``
and one ``query_completed`` entry per request.

Three phases: ``closed`` (each client sends its next request as soon as the previous answer
arrives: the throughput), ``paced`` (the clients together offer ``--rate`` requests/s: the
latency at that load; a request sent late because the previous answer came late counts from its
scheduled time, so a stall is not hidden, and one sent late because the client's own timer woke
it late, up to a millisecond on this loop, counts from when it was sent)
and ``half`` (paced the same way at the rate that keeps the server's event loop half busy, from
the paced phase's loop CPU per request: a load this machine carries, so its latency is the API's
own cost rather than queueing behind a saturated server).
The phases start once the server has settled: ``fame serve`` goes on after it answers with
work of its own (the sandbox's warm pool starts its containers, the code library loads), and
requests measured meanwhile would be the start-up's, not the API's; the time waited is printed.
The baseline is the same queries asked of an in-process Brain in the same run, one at a time, in
slices just before and after each phase (this machine's speed drifts by half within minutes):
back to back, and for a paced phase also at that phase's rate, the phase's ratio being against
the latter (a loop that idles between queries runs each slower: the server's does at that
rate). The server's CPU time per request (from /proc) is printed too: unlike latency it barely
depends on other load; so is its event-loop thread's share (that thread serves the requests one
at a time, so its CPU per request bounds the throughput) and the rest (the audit log's writer
thread and others).

With ``--baseline REV`` (a git revision) a second ``fame serve`` runs that commit's code
(``git archive`` into a temporary folder, first on its ``PYTHONPATH``) over a data dir of its own,
and every phase runs on both, taking turns to go first, at the same offered rates (the half
phase at the lower of the two servers' half-busy rates): its figures print with ``rev_REV_`` in
front, then the ratios of today's to them. On a shared machine, compare those ratios rather than
figures from separate runs.

Usage: .venv/bin/python benchmarks/bench_api.py [--clients 16] [--requests 100] [--rate 1000]
[--baseline REV]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench_cli import export_revision

from fame_desktop.app import build_app
from fame_desktop.orchestrator.admin import AdminKeyStore
from fame_desktop.orchestrator.settings import SettingsStore

FAME = str(Path(sys.executable).with_name("fame"))
EXPRESSIONS = ["12 * 12", "7 + 8", "100 / 4", "2 ** 10", "15 percent of 80", "sqrt(144)"]
GOALS = {"p50_ms": 3.0, "p99_ms": 25.0, "throughput": 1000.0, "ratio": 3.0}


@dataclass
class Phase:
    """Latencies and errors of one load phase."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    offered: float = 0.0
    cpu_s: float = 0.0
    loop_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    machine_cpu_s: float = 0.0
    # The in-process Brain's p50 measured just before and just after this phase (see main):
    # back to back, and at this phase's offered rate (the same as back to back when closed).
    base_p50: float = 0.0
    paced_base_p50: float = 0.0
    # How late the paced clients' timers woke them (not counted in the latency).
    timer_late: list[float] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (Linux /proc)."""
    return _cpu_seconds(Path(f"/proc/{pid}/stat"))


def loop_thread_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid``'s main thread: the event loop, which serves every request in turn."""
    return _cpu_seconds(Path(f"/proc/{pid}/task/{pid}/stat"))


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used so far, all cores (Linux /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request_bytes(host: str, key: str, text: str) -> bytes:
    body = json.dumps({"text": text, "intent": "calculate"}).encode()
    head = (
        f"POST /query HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _Answers(asyncio.Protocol):
    """One keep-alive connection: hands each complete answer (status, body) to a future."""

    def __init__(self) -> None:
        self.buffer = b""
        self.waiting: asyncio.Future[tuple[bytes, bytes]] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].lower() + b"\r\n"
        at = head.find(b"\r\ncontent-length:")
        length = int(head[at + 17 : head.find(b"\r\n", at + 2)]) if at >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        answer = (head[9:12], self.buffer[end + 4 : end + 4 + length])
        self.buffer = self.buffer[end + 4 + length :]
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_exception(exc or ConnectionResetError("the server closed the connection"))

    async def ask(self, request: bytes) -> tuple[bytes, bytes]:
        assert self.transport is not None
        self.waiting = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiting


async def client_run(
    host: str,
    port: int,
    requests: list[bytes],
    n: int,
    offset: int,
    phase: Phase,
    interval: float,
    start: float,
) -> None:
    """One keep-alive connection sending ``n`` queries (every ``interval`` s when paced)."""
    loop = asyncio.get_running_loop()
    transport, conn = await loop.create_connection(_Answers, host, port)
    try:
        for i in range(n):
            sent = time.perf_counter()
            if interval:
                scheduled = start + (i + offset / 16) * interval
                if scheduled > sent:
                    await asyncio.sleep(scheduled - sent)
                    # Early, it slept: the timer wakes it up to a millisecond late (epoll's
                    # timeout is whole milliseconds), a delay of the load generator's own.
                    sent = time.perf_counter()
                    phase.timer_late.append((sent - scheduled) * 1000)
                else:
                    # Late because the previous answer was: counted from the scheduled time, so
                    # the server's stall is not hidden (coordinated omission).
                    sent = scheduled
            status, body = await conn.ask(requests[(offset + i) % len(requests)])
            phase.latencies.append((time.perf_counter() - sent) * 1000)
            error = json.loads(body).get("error") if body.startswith(b"{") else body[:120]
            if status != b"200" or error is not None:
                phase.errors.append(f"{status.decode()} {error!r}")
    except (OSError, ValueError) as exc:
        phase.errors.append(repr(exc))
    finally:
        transport.close()


def pool_settled(host: str, port: int, key: str) -> bool:
    """Whether the server's sandbox pool is done starting (full, failed, or no engine)."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", "/health", headers={"X-API-Key": key})
        details = json.loads(conn.getresponse().read()).get("details") or {}
    finally:
        conn.close()
    docker = details.get("docker", {})
    pool = docker.get("pool") or {}
    return (
        not docker.get("available")
        or bool(pool.get("error"))
        or pool.get("ready", 0) >= pool.get("target", 0)
    )


def settle(host: str, port: int, key: str, pid: int, limit: float = 60.0) -> tuple[float, int]:
    """Wait until the server's start-up work is done: its sandbox pool settled and its own CPU
    quiet (under 5% for two quarter-seconds in a row); returns the seconds waited and the
    ``/health`` calls made (each is one more ``api_request`` audit row)."""
    t0, calls, quiet = time.perf_counter(), 0, 0
    cpu = process_cpu_seconds(pid)
    while time.perf_counter() - t0 < limit and quiet < 2:
        time.sleep(0.25)
        now = process_cpu_seconds(pid)
        calls += 1
        settled = pool_settled(host, port, key)
        quiet = quiet + 1 if settled and now - cpu < 0.0125 else 0
        cpu = process_cpu_seconds(pid)  # after the /health call, which costs CPU of its own
    return time.perf_counter() - t0, calls


async def run_phase(
    phase: Phase, host: str, port: int, key: str, clients: int, n: int, rate: float, pid: int
) -> None:
    interval = clients / rate if rate else 0.0
    requests = [request_bytes(host, key, text) for text in EXPRESSIONS]
    cpu0, loop0, client0 = process_cpu_seconds(pid), loop_thread_cpu_seconds(pid), time.process_time()
    machine0 = machine_busy_seconds()
    t0 = time.perf_counter()
    await asyncio.gather(
        *(client_run(host, port, requests, n, i, phase, interval, t0) for i in range(clients))
    )
    phase.elapsed = time.perf_counter() - t0
    phase.cpu_s = process_cpu_seconds(pid) - cpu0
    phase.loop_cpu_s = loop_thread_cpu_seconds(pid) - loop0
    phase.client_cpu_s = time.process_time() - client0
    phase.machine_cpu_s = machine_busy_seconds() - machine0


#: In-process queries per baseline slice, after a few untimed ones (a new app's first queries
#: fill its caches).
SLICE_QUERIES, SLICE_WARM_UP = 150, 20


async def baseline(
    data_dir: Path, rate: float = 0.0, n: int = SLICE_QUERIES, warm_up: int = SLICE_WARM_UP
) -> list[float]:
    """The Brain's latency in process: ``n`` calculator queries, one at a time, on a fresh app.

    Back to back, or started ``rate`` times a second as the server's loop gets them in a paced
    phase: a CPU that sat idle between two queries runs the next one slower (its caches went
    cold; on this machine 0.32 ms back to back, 0.40 ms 1 ms apart, 0.49 ms 4 ms apart), so the
    API at a rate is compared with the Brain at the same rate. The wait is ``time.sleep``, which
    wakes within tens of microseconds (asyncio's timers, within a millisecond), after the loop
    has run what the last query left scheduled, as the server's loop does between requests.
    """
    app = build_app(data_dir)
    await app.brain.start()
    out = []
    try:
        for i in range(warm_up):
            await app.brain.handle_query({"text": EXPRESSIONS[i % len(EXPRESSIONS)], "intent": "calculate"})
        start = time.perf_counter()
        for i in range(n):
            if rate:
                await asyncio.sleep(0)
                # Blocking on purpose: the loop has nothing else to do, and asyncio's timer is coarse.
                time.sleep(max(0.0, start + i / rate - time.perf_counter()))  # noqa: ASYNC251
            t0 = time.perf_counter()
            await app.brain.handle_query({"text": EXPRESSIONS[i % len(EXPRESSIONS)], "intent": "calculate"})
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        await app.aclose()
    return out


def capacity(phase: Phase) -> float:
    """Requests per second a finished phase got through."""
    return len(phase.latencies) / phase.elapsed if phase.elapsed else 0.0


def half_busy_rate(phase: Phase) -> float:
    """Requests per second that keep the server's event loop half busy at ``phase``'s loop CPU
    per request."""
    return 0.5 * len(phase.latencies) / phase.loop_cpu_s if phase.loop_cpu_s else 0.0


def verdict(ok: bool) -> str:
    return "meets goal" if ok else "MISSES goal"


@dataclass
class Server:
    """One ``fame serve`` under test: today's code, or a git revision's (``--baseline REV``)."""

    label: str  # "" for today's code, else the revision
    data_dir: Path
    key: str
    proc: subprocess.Popen[str]
    host: str = ""
    port: int = 0
    settled_s: float = 0.0
    health_calls: int = 0
    phases: list[Phase] = field(default_factory=list)


def start_server(label: str, data_dir: Path, pythonpath: str | None, rate_limit: int) -> Server:
    """A ``fame serve`` over a new data dir with a key, from ``pythonpath``'s code when given.

    Raises:
        RuntimeError: The server did not start.
    """
    data_dir.mkdir(parents=True)
    key, _ = AdminKeyStore(data_dir / "admin_keys.json").add(label="bench")
    SettingsStore(data_dir / "settings.json").update({"api.rate_limit_per_minute": rate_limit}, admin=True)
    env = {k: v for k, v in os.environ.items() if k != "FAME_ADMIN_KEY"}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [FAME, "--data-dir", str(data_dir), "serve", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    found = re.search(r"http://(127\.0\.0\.1):(\d+)", proc.stdout.readline())
    if not found:
        proc.kill()
        raise RuntimeError(
            f"the server{' at ' + label if label else ''} did not start: {proc.communicate()[1]}"
        )
    return Server(label, data_dir, key, proc, found.group(1), int(found.group(2)))


# Counted by the server's own code (a revision's audit log is read as that revision wrote it).
_COUNT_AUDIT = (
    "import sys; from pathlib import Path; from fame_desktop.app import build_app; "
    "app = build_app(Path(sys.argv[1])); "
    "print(app.audit.count(kinds=['api_request']), app.audit.count(kinds=['query_completed'])); "
    "app.services.close()"
)


def audit_counts(server: Server, pythonpath: str | None) -> tuple[int, int]:
    """The ``api_request`` and ``query_completed`` entries in the server's audit log."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_AUDIT, str(server.data_dir)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    api, completed = done.stdout.split()[-2:]
    return int(api), int(completed)


def print_phase(p: Phase, clients: int, prefix: str = "") -> None:
    """The figures of one finished phase (``prefix`` names a revision's server)."""
    name = prefix + p.name
    n = len(p.latencies)
    p50, p99 = statistics.median(p.latencies), percentile(p.latencies, 99)
    rate = n / p.elapsed
    print(f"{name}_requests: {n} count")
    if p.offered:  # a paced phase's rate is what was offered: the closed phase's is the capacity
        print(f"{name}_offered_rate: {p.offered:.1f} req/s")
        print(f"{name}_throughput: {rate:.1f} req/s")
    else:
        print(f"{name}_throughput: {rate:.1f} req/s ({verdict(rate >= GOALS['throughput'])} >= 1000)")
    if p.timer_late:
        late = statistics.median(p.timer_late)
        print(f"{name}_client_timer_late_p50: {late:.2f} ms (the load generator's, not in the latency)")
    print(f"{name}_latency_p50: {p50:.2f} ms ({verdict(p50 <= GOALS['p50_ms'])} <= 3)")
    if p.name == "closed":
        # Each of the N clients waits for its answer: N requests are always in the server,
        # so the mean latency is N / throughput (Little's law) whatever the server does.
        print(f"{name}_mean_latency_by_design: {clients / rate * 1000:.2f} ms (clients / throughput)")
    print(f"{name}_latency_p99: {p99:.2f} ms ({verdict(p99 <= GOALS['p99_ms'])} <= 25)")
    ratio = p50 / p.paced_base_p50
    if p.offered:
        print(
            f"{name}_in_process_p50: {p.paced_base_p50:.3f} ms "
            f"(the Brain in process at the same {p.offered:.0f} queries/s, just before and after)"
        )
        print(f"{name}_in_process_back_to_back_p50: {p.base_p50:.3f} ms (never idle: its caches warm)")
        print(f"{name}_api_over_in_process_back_to_back_p50: {p50 / p.base_p50:.1f} ratio (no goal)")
    else:
        print(f"{name}_in_process_p50: {p.base_p50:.3f} ms (the Brain in process, just before and after)")
    print(f"{name}_api_over_in_process_p50: {ratio:.1f} ratio ({verdict(ratio <= GOALS['ratio'])} <= 3)")
    server_ms, client_ms = p.cpu_s / n * 1000, p.client_cpu_s / n * 1000
    loop_ms = p.loop_cpu_s / n * 1000
    print(f"{name}_server_cpu_per_request: {server_ms:.3f} ms")
    # The loop thread handles requests one at a time: 1 / its CPU per request bounds the
    # throughput whatever the cores; the rest is the audit writer and other threads.
    print(
        f"{name}_server_loop_thread_cpu_per_request: {loop_ms:.3f} ms "
        f"(1000 / this = {1000 / max(loop_ms, 1e-6):.0f} req/s at most from one loop)"
    )
    print(f"{name}_server_other_threads_cpu_per_request: {server_ms - loop_ms:.3f} ms (audit writer...)")
    print(f"{name}_client_cpu_per_request: {client_ms:.3f} ms (the load generator, same machine)")
    print(
        f"{name}_total_cpu_per_request: {server_ms + client_ms:.3f} ms "
        f"(2 cores / this = {2000 / (server_ms + client_ms):.0f} req/s at most here)"
    )
    # What the rest of the machine (other programs) used meanwhile: on 2 cores, what is left
    # of them for the server and its clients bounds the figures above.
    others = max(0.0, p.machine_cpu_s - p.cpu_s - p.client_cpu_s) / p.elapsed
    print(f"{name}_other_processes_cpu: {others:.2f} cores (the rest of the machine meanwhile)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=100, help="Requests per client and phase.")
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="Offered req/s of the paced phase (0: skip)."
    )
    parser.add_argument("--time-limit", type=float, default=300.0, help="Seconds before giving up.")
    parser.add_argument(
        "--baseline", metavar="REV", help="Also serve this git revision's code, phase for phase."
    )
    args = parser.parse_args()
    if not (1 <= args.clients <= 64 and 1 <= args.requests <= 5000 and args.rate >= 0):
        print("bench_api: --clients must be 1..64, --requests 1..5000, --rate >= 0", file=sys.stderr)
        return 2
    # "half": paced so that the server's loop is half busy, i.e. a load this server carries here:
    # its latency is what the API adds to the Brain's, apart from queueing at saturation.
    names = ["closed"] + (["paced", "half"] if args.rate else [])
    total = args.clients * args.requests * len(names)
    rate_limit = 10 * total + 1000
    servers: list[Server] = []
    # In-process latencies around each phase: back to back, and at the phase's rate.
    hot: list[list[float]] = [[] for _ in names]
    paced: list[list[float]] = [[] for _ in names]
    with tempfile.TemporaryDirectory(prefix="fame-bench-api-") as tmp:
        rev_code = None
        if args.baseline:
            rev_code = str(Path(tmp) / "rev")
            export_revision(args.baseline, Path(rev_code))
        try:
            servers.append(start_server("", Path(tmp) / "data", None, rate_limit))
            if args.baseline:
                servers.append(start_server(args.baseline, Path(tmp) / "rev-data", rev_code, rate_limit))
            for server in servers:
                server.settled_s, server.health_calls = settle(
                    server.host, server.port, server.key, server.proc.pid
                )

            async def load() -> None:
                for server in servers:
                    warm = Phase("warm-up")
                    await run_phase(warm, server.host, server.port, server.key, 2, 20, 0, server.proc.pid)
                for i, name in enumerate(names):
                    # The half phase of both servers is offered the same rate, a load both carry:
                    # the loop half busy at the paced phase's loop CPU per request. Not half the
                    # closed phase's throughput: there requests share loop turns and commits and
                    # cost half as much, so half of it kept the loop 85-95% busy at a steady pace.
                    half = min(half_busy_rate(s.phases[1]) for s in servers) if name == "half" else 0.0
                    offered = {"paced": args.rate, "half": half}.get(name, 0.0)

                    async def bracket(when: str, i: int = i, offered: float = offered) -> None:
                        # The machine's speed drifts within minutes (neighbours on the host):
                        # each phase is compared with the in-process Brain just before and after it.
                        hot[i] += await baseline(Path(tmp) / f"baseline-{i}-{when}")
                        if offered:
                            # Twice the queries: a paced slice's figures spread more.
                            paced[i] += await baseline(
                                Path(tmp) / f"paced-{i}-{when}", offered, 2 * SLICE_QUERIES
                            )

                    await bracket("before")
                    # Today's and the revision's take turns going first, so a machine getting
                    # busier or quieter favours neither.
                    for server in servers if i % 2 == 0 else servers[::-1]:
                        phase = Phase(name, offered=offered)
                        server.phases.append(phase)
                        await run_phase(
                            phase,
                            server.host,
                            server.port,
                            server.key,
                            args.clients,
                            args.requests,
                            phase.offered,
                            server.proc.pid,
                        )
                    await bracket("after")

            asyncio.run(asyncio.wait_for(load(), timeout=args.time_limit))
        except RuntimeError as exc:
            print(f"bench_api: {exc}", file=sys.stderr)
            return 1
        finally:
            for server in servers:
                server.proc.terminate()
                server.proc.communicate(timeout=30)
        counts = [audit_counts(s, rev_code if s.label else None) for s in servers]
        for server in servers:
            for i, phase in enumerate(server.phases):
                phase.base_p50 = statistics.median(hot[i])
                phase.paced_base_p50 = statistics.median(paced[i] or hot[i])
        base = [t for piece in hot for t in piece]

    expected = total + 40  # + the warm-up requests
    base_p50 = statistics.median(base)
    print(f"clients: {args.clients} count")
    print(f"server_settled_after: {servers[0].settled_s:.1f} s (its start-up work done before the phases)")
    print(f"baseline_in_process_p50: {base_p50:.3f} ms")
    print(f"baseline_in_process_p99: {percentile(base, 99):.3f} ms")
    for p in servers[0].phases:
        print_phase(p, args.clients)
    for server in servers[1:]:
        prefix = f"rev_{server.label}_"
        print(f"{prefix}server_settled_after: {server.settled_s:.1f} s")
        for p, today in zip(server.phases, servers[0].phases, strict=True):
            print_phase(p, args.clients, prefix)
            speed = capacity(today) / capacity(p)
            p50 = statistics.median(today.latencies) / statistics.median(p.latencies)
            loop = (today.loop_cpu_s / len(today.latencies)) / (p.loop_cpu_s / len(p.latencies))
            print(
                f"{p.name}_today_over_{server.label}: throughput {speed:.2f}x (above 1: faster), "
                f"p50 {p50:.2f}x, loop CPU per request {loop:.2f}x (below 1: less) ratio"
            )
    ok = True
    for server, (api_entries, completed) in zip(servers, counts, strict=True):
        prefix = f"rev_{server.label}_" if server.label else ""
        errors = [e for p in server.phases for e in p.errors]
        expected_api = expected + server.health_calls  # + the settling's GET /health
        print(f"{prefix}errors: {len(errors)} count")
        print(f"{prefix}audit_api_requests: {api_entries} count (expected {expected_api})")
        print(f"{prefix}audit_queries_completed: {completed} count (expected {expected})")
        if errors:
            print(f"{prefix}first error: " + errors[0], file=sys.stderr)
        ok = ok and not errors and api_entries == expected_api and completed == expected
    print(f"load_average_1min: {os.getloadavg()[0]:.1f} (other work on the machine inflates latency)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
