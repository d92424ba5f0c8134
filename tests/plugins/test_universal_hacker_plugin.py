"""universal_hacker: refusals, allow list, and real TCP checks against sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from plugin_harness import Harness

from core import universal_hacker
from fame_desktop.orchestrator.errors import CapabilityDisabled, NetworkDisabled


class Listener:
    """A real TCP server on 127.0.0.1 that counts connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Listener:
        async def on_connect(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    lst = await Listener().start()
    yield lst
    assert lst.server is not None
    lst.server.close()
    await lst.server.wait_closed()


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose accept queue is full, so new connection attempts get no answer at all."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port: int = srv.getsockname()[1]
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    yield port
    for c in fillers:
        c.close()
    srv.close()


@pytest.fixture
def hacker(plugin: Callable[..., Harness]) -> Harness:
    h = plugin("universal_hacker")
    h.settings(
        network__allow_network=True,
        capabilities__security_test=True,
        capabilities__security_allowlist=["127.0.0.1", "staging"],
    )
    return h


async def test_capability_off_by_default(plugin: Callable[..., Harness]) -> None:
    h = plugin("universal_hacker")
    with pytest.raises(CapabilityDisabled):
        await h.ask("Test penetration of example.com", "security_test")


async def test_capability_on_but_network_off(plugin: Callable[..., Harness]) -> None:
    h = plugin("universal_hacker")
    h.settings(capabilities__security_test=True, capabilities__security_allowlist=["127.0.0.1"])
    with pytest.raises(NetworkDisabled):
        await h.ask("check port 22 on 127.0.0.1", "security_test")


async def test_open_and_closed_ports_on_an_allowed_host(
    hacker: Harness, listener: Listener, closed_port: int
) -> None:
    result = await hacker.ask(f"check ports {listener.port} and {closed_port} on 127.0.0.1", "security_test")
    states = {r["port"]: r["state"] for r in result["data"]["results"]}
    assert states == {listener.port: "open", closed_port: "closed"}
    assert listener.connections == 1
    assert all(r["ms"] >= 0 for r in result["data"]["results"])
    assert f"| 127.0.0.1 | {listener.port} | open |" in result["response"]
    assert "1 open, 1 closed" in result["response"]


async def test_host_colon_port_form(hacker: Harness, listener: Listener) -> None:
    result = await hacker.ask(f"is 127.0.0.1:{listener.port} reachable", "security_test")
    assert [(r["port"], r["state"]) for r in result["data"]["results"]] == [(listener.port, "open")]


async def test_no_answer_is_reported_as_filtered(hacker: Harness, silent_port: int) -> None:
    hacker.settings(services__http_timeout_seconds=0.4)
    result = await hacker.ask(f"probe port {silent_port} on 127.0.0.1", "security_test")
    [row] = result["data"]["results"]
    assert row["state"] == "filtered"
    assert "no answer within 0.4 s" in result["response"]


async def test_host_not_on_the_allow_list_is_refused_before_any_probe(
    hacker: Harness, listener: Listener
) -> None:
    result = await hacker.ask(f"scan port {listener.port} on localhost and example.com", "security_test")
    assert result["error"]["code"] == "not_allowed"
    assert "localhost, example.com are not on the security-test allow list" in result["error"]["message"]
    assert listener.connections == 0


@pytest.mark.parametrize(
    "text",
    ["scan 10.0.0.0/24", "check 127.0.0.1-20 for ssh", "probe 192.168.1.* port 80", "scan *.example.com"],
)
async def test_ranges_are_never_scanned(hacker: Harness, text: str) -> None:
    result = await hacker.ask(text, "security_test")
    assert result["error"]["code"] == "not_allowed"
    assert "never scan address ranges" in result["error"]["message"]


async def test_no_host_named_lists_the_allowed_ones(hacker: Harness) -> None:
    result = await hacker.ask("run a security test against my server", "security_test")
    assert result["error"]["code"] == "no_target"
    assert "127.0.0.1, staging" in result["error"]["message"]


async def test_allowlisted_name_without_a_dot_is_found(hacker: Harness) -> None:
    # "staging" does not resolve here: the check runs and reports the error instead of crashing.
    result = await hacker.ask("is ssh exposed on staging", "security_test")
    [row] = result["data"]["results"]
    assert (row["host"], row["port"], row["state"]) == ("staging", 22, "error")


def test_port_parsing() -> None:
    assert universal_hacker.ports_in("scan ports 80 and 443 on x") == [80, 443]
    assert universal_hacker.ports_in("ports 22, 80, 8080") == [22, 80, 8080]
    assert universal_hacker.ports_in("is ssh or postgres open") == [22, 5432]
    assert universal_hacker.ports_in("check 443/tcp") == [443]
