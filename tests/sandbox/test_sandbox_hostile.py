"""Hostile programs: each one is contained with the expected status and leaves nothing behind
(no container, no process on the host), and the host stays unaffected."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sandbox_harness import wait_no_containers

pytestmark = pytest.mark.docker

HOST_SECRET = "host-only-value-7f3a9"


@dataclass
class Hostile:
    name: str
    code: str
    status: set[str]
    expect_out: tuple[str, ...] = ()
    forbid_out: tuple[str, ...] = ()
    timeout: float = 20
    memory: str | None = None


PROGRAMS = [
    Hostile(
        "fork_bomb",
        "import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n            time.sleep(60)\n"
        "            os._exit(0)\n        n += 1\nexcept OSError as e:\n    print('stopped after', n, type(e).__name__)\n",
        {"ok"},
        ("stopped after", "BlockingIOError"),
    ),
    Hostile(
        "thread_bomb",
        "import threading, time\nn = 0\ntry:\n    while True:\n"
        "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n        n += 1\n"
        "except RuntimeError as e:\n    print('threads stopped at', n, e)\n",
        {"ok"},
        ("threads stopped at",),
    ),
    Hostile("memory_bomb", "x = []\nwhile True:\n    x.append(b'x' * (32 << 20))\n", {"oom"}, memory="128m"),
    Hostile("cpu_spin", "while True:\n    pass\n", {"timeout"}, timeout=2),
    Hostile("sleep_forever", "import time\ntime.sleep(10**6)\n", {"timeout"}, timeout=2),
    # Egress is checked without ever addressing a host outside this machine (the workplace forbids
    # it even as a test target): a network-less container has no interface but lo, no route and no
    # neighbour, so no packet to any public address or to the bridge gateway can leave it.
    Hostile(
        "egress_public",
        "import os\nprint('interfaces', sorted(os.listdir('/sys/class/net')))\n"
        "routes = open('/proc/net/route').read().splitlines()[1:]\nprint('routes', len(routes))\n"
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ntry:\n"
        "    s.connect(('198.51.100.1', 9))  # connect() on UDP only picks a route; nothing is sent\n"
        "    print('ROUTABLE', s.getsockname())\nexcept OSError as e:\n    print('blocked', e)\n",
        {"ok"},
        ("interfaces ['lo']", "routes 0", "blocked", "unreachable"),
        ("ROUTABLE",),
    ),
    Hostile(
        "egress_bridge_gateway",
        "arp = open('/proc/net/arp').read().splitlines()[1:]\nprint('neighbours', len(arp))\n"
        "import socket\nfor port in (2375, 2376, 22, 80):\n    try:\n"
        "        socket.create_connection(('127.0.0.1', port), timeout=2)\n        print('CONNECTED', port)\n"
        "    except OSError as e:\n        print('blocked', port, e)\n",
        {"ok"},
        ("neighbours 0", "blocked 2375"),
        ("CONNECTED",),
    ),
    Hostile(
        "dns_lookup",
        "import socket\ntry:\n    print('RESOLVED', socket.getaddrinfo('example.com', 80))\n"
        "except OSError as e:\n    print('no dns', type(e).__name__)\n",
        {"ok"},
        ("no dns",),
        ("RESOLVED",),
    ),
    Hostile(
        "write_root_fs",
        "import os\nfor path in ('/evil', '/etc/passwd', '/usr/bin/python3', '/opt/fame/runner.py'):\n"
        "    try:\n        open(path, 'a').write('x')\n        print('WROTE', path)\n"
        "    except OSError as e:\n        print('refused', path, e.strerror)\n",
        {"ok"},
        ("refused /evil Read-only file system",),
        ("WROTE",),
    ),
    Hostile(
        "fill_scratch_disk",
        "n = 0\ntry:\n    with open('/tmp/fill', 'wb') as f:\n        while True:\n"
        "            f.write(b'\\0' * (1 << 20))\n            n += 1\nexcept OSError as e:\n"
        "    print('stopped at', n, 'MB', e.strerror)\n",
        {"ok", "error"},
        ("stopped at",),
    ),
    Hostile(
        "output_300mb",
        "import sys\nline = 'x' * 1023 + '\\n'\nblock = line * 1024\nfor _ in range(300):\n    sys.stdout.write(block)\n",
        {"ok"},
        timeout=120,
    ),
    Hostile(
        # Past the runner, into the container's stdout through its init process: a frame header
        # announcing 4 GB must not make the app buffer (or lose) what follows.
        "forged_stream_frames",
        "import os, struct, sys\n"
        "fd = os.open('/proc/1/fd/1', os.O_WRONLY)\n"
        "os.write(fd, struct.pack('>BxxxI', 1, 0xFFFFFFF0) + b'forged')\n"
        "block = ('z' * 1023 + '\\n') * 1024\n"
        "for _ in range(50):\n"
        "    sys.stdout.write(block)\n"
        "print('after the forged frame')\n",
        {"ok"},
        timeout=60,
    ),
    Hostile(
        "one_50mb_line",
        "import sys\nchunk = 'y' * (1 << 20)\nfor _ in range(50):\n    sys.stdout.write(chunk)\n",
        {"ok"},
        timeout=60,
    ),
    Hostile(
        "binary_output",
        "import sys\nsys.stdout.buffer.write(bytes(range(256)) * 64)\nsys.stderr.buffer.write(b'\\xff\\xfe\\x00')\n",
        {"ok"},
    ),
    Hostile(
        "setuid",
        "import os\nfor call in (lambda: os.setuid(0), lambda: os.setgid(0), lambda: os.seteuid(0)):\n"
        "    try:\n        call()\n        print('BECAME ROOT')\n    except PermissionError:\n        print('denied')\n"
        "print('uid', os.getuid(), os.geteuid())\n",
        {"ok"},
        ("denied", "uid 65534 65534"),
        ("BECAME ROOT",),
    ),
    Hostile(
        "capabilities",
        "for line in open('/proc/self/status'):\n    if line.startswith(('CapEff', 'CapPrm', 'NoNewPrivs')):\n"
        "        print(line.strip().replace('\\t', ' '))\n",
        {"ok"},
        ("CapEff: 0000000000000000", "CapPrm: 0000000000000000", "NoNewPrivs: 1"),
    ),
    Hostile(
        "docker_socket",
        "import glob, os\nfound = [p for p in ('/var/run/docker.sock', '/run/docker.sock', '/run/containerd')"
        " if os.path.exists(p)]\nfor root in ('/var', '/run', '/tmp', '/home', '/root', '/opt', '/srv', '/mnt'):\n    found += glob.glob(root + '/**/*.sock', recursive=True)\nprint('sockets:', found)\n",
        {"ok"},
        ("sockets: []",),
    ),
    Hostile(
        "read_stdin",
        "import sys\ndata = sys.stdin.read()\nprint('stdin gave', repr(data))\n",
        {"ok"},
        ("stdin gave ''",),
    ),
    Hostile(
        "print_environment",
        "import os\nfor k, v in sorted(os.environ.items()):\n    print(k, '=', v)\n",
        {"ok"},
        ("PATH =",),
        (HOST_SECRET, "FAME_PROBE"),
    ),
    Hostile(
        "kill_everything",
        "import os, signal\nfor pid in sorted((int(p) for p in os.listdir('/proc') if p.isdigit()), reverse=True):\n"
        "    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError as e:\n        print('could not kill', pid, e)\n",
        {"error", "ok"},
    ),
    Hostile(
        "daemon_outlives_run",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        while True:\n            time.sleep(0.1)\n    os._exit(0)\nprint('daemon started')\n",
        {"ok"},
        ("daemon started",),
    ),
]


def _host_processes_of(container_id: str) -> list[int]:
    """Host pids whose cgroup belongs to the container."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if container_id in (entry / "cgroup").read_text():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
async def test_hostile_program_is_contained(
    program: Hostile, make_manager: Any, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAME_PROBE_SECRET", HOST_SECRET)
    manager = await make_manager(pool_size=1, output_limit_bytes=1_000_000)
    report = await manager.run(program.code, timeout=program.timeout, memory=program.memory)
    data = report.to_dict()
    summary = {k: (v[:300] if isinstance(v, str) else v) for k, v in data.items()}
    assert data["status"] in program.status, summary
    for text in program.expect_out:
        assert text in data["stdout"], summary
    for text in program.forbid_out:
        assert text not in data["stdout"] + data["stderr"], summary
    # Whatever it printed, the app kept at most the limit of each stream (in bytes received: each
    # U+FFFD, 3 bytes in UTF-8, stands for at least one byte that was not UTF-8).
    for text in (data["stdout"], data["stderr"]):
        assert len(text.encode()) - 2 * text.count("\ufffd") <= 1_000_000
    if program.name.startswith(("output_300mb", "one_50mb", "forged_stream")):
        assert data["stdout_truncated"]
    if program.name == "binary_output":
        assert "\ufffd" in data["stdout"] and "\ufffd" in data["stderr"]
    container = data["container"]
    await manager.close()
    assert wait_no_containers(docker_client) == []
    assert _host_processes_of(container) == [], "a process of the run outlived it"
    assert docker_client.ping()  # the engine is unaffected
    assert os.getloadavg()[0] >= 0
