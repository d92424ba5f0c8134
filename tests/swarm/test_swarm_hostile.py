"""Hostile programs on the Swarm backend are contained like on the local engine: no network out,
not to the host, not to another job; no writing outside /tmp; processes bounded by the pids
limit; no privileges."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest

from fame_desktop.orchestrator.events import SandboxOutput
from tests.swarm.conftest import SwarmFactory, WiredSwarm

pytestmark = [pytest.mark.docker, pytest.mark.slow]

_CONNECT = """
import socket
for host, port in {targets!r}:
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, port))
        print('CONNECTED', host, port)
    except OSError as exc:
        print('blocked', host, port, type(exc).__name__)
    finally:
        s.close()
"""


def _host_addresses() -> list[str]:
    """This machine's IPv4 addresses (loopback, the Docker bridges, the uplink, ...)."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines()]


@pytest.fixture
def host_server() -> Iterator[int]:
    """A TCP server on every address of the host; yields its port."""
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    server.close()


async def test_no_route_out_and_not_to_the_host(swarm: WiredSwarm, host_server: int) -> None:
    addresses = _host_addresses()
    # The control: the server answers on each of those addresses from the host itself.
    for address in addresses:
        socket.create_connection((address, host_server), timeout=2).close()
    targets = [("1.1.1.1", 53), ("1.1.1.1", 443), ("8.8.8.8", 53)]
    targets += [(address, host_server) for address in addresses]
    report = await swarm.run(_CONNECT.format(targets=targets), timeout=60)
    assert report.status == "ok", report
    assert "CONNECTED" not in report.stdout, report.stdout
    assert report.stdout.count("blocked") == len(targets), report.stdout


async def test_no_dns_and_no_default_route(swarm: WiredSwarm) -> None:
    code = (
        "import socket\n"
        "routes = open('/proc/net/route').read().splitlines()[1:]\n"
        "print('default route' if any(r.split()[1] == '00000000' for r in routes) else 'no default route')\n"
        "try:\n"
        "    socket.getaddrinfo('example.com', 80)\n"
        "    print('RESOLVED')\n"
        "except OSError:\n"
        "    print('no dns')\n"
    )
    report = await swarm.run(code, timeout=60)
    assert report.stdout == "no default route\nno dns\n", report


async def test_a_job_cannot_reach_another_job(swarm: WiredSwarm) -> None:
    listener = (
        "import socket, time\n"
        "ip = socket.gethostbyname('sandbox')\n"
        "server = socket.create_server(('0.0.0.0', 8080))\n"
        "socket.create_connection((ip, 8080), timeout=2).close()\n"  # the control: it answers
        "print('LISTENING', ip, flush=True)\n"
        "time.sleep(120)\n"
    )
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_output(event: SandboxOutput) -> None:
        if event.run_id == "hostile-listener" and "LISTENING" in event.text and not found.done():
            found.set_result(event.text.split()[1])

    subscription = swarm.bus.subscribe(SandboxOutput, on_output)
    listening = asyncio.create_task(swarm.run(listener, run_id="hostile-listener", timeout=150))
    try:
        ip = await asyncio.wait_for(asyncio.shield(found), 90)
        report = await swarm.run(_CONNECT.format(targets=[(ip, 8080)]), timeout=60)
        assert report.stdout.startswith("blocked"), report.stdout
    finally:
        subscription.cancel()
        assert await swarm.cancel("hostile-listener")
        killed = await listening
    assert killed.status == "killed", killed


async def test_no_writes_outside_tmp_no_privileges(swarm: WiredSwarm) -> None:
    code = (
        "import os\n"
        "for path in ('/x', '/usr/x', '/run/fame/x', '/run/fame/main.py'):\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        print('WROTE', path)\n"
        "    except OSError as exc:\n"
        "        print('refused', path, exc.errno)\n"
        "open('/tmp/ok', 'w').write('x')\n"
        "status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())\n"
        "print(os.getuid(), status['CapEff'].strip(), status['CapBnd'].strip(), status['NoNewPrivs'].strip())\n"
    )
    report = await swarm.run(code)
    assert report.status == "ok", report
    assert "WROTE" not in report.stdout, report.stdout
    assert report.stdout.splitlines()[-1] == "65534 0000000000000000 0000000000000000 1"


async def test_a_fork_bomb_is_bounded_by_the_pids_limit(make_swarm: SwarmFactory) -> None:
    swarm = await make_swarm(pids_limit=32)
    code = (
        "import os, time\n"
        "count = 0\n"
        "try:\n"
        "    for _ in range(500):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30)\n"
        "            os._exit(0)\n"
        "        count += 1\n"
        "except OSError as exc:\n"
        "    print('stopped at', count, exc.errno, flush=True)\n"
        "os._exit(0)\n"
    )
    report = await swarm.run(code, timeout=20)
    assert "stopped at" in report.stdout, report
    assert int(report.stdout.split()[2]) < 32
