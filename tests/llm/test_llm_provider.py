"""The OpenAI-compatible provider against a real streaming server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from openai_fake import FakeOpenAI, Reply, pieces

from fame_desktop.orchestrator.errors import InvalidRequest, NetworkDisabled
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.llm import (
    ChatMessage,
    ChatProvider,
    LlmConfig,
    LlmError,
    LlmStreamEnded,
    LlmTimeout,
    LlmToken,
    LlmUnavailable,
)

KEY = "sk-test-0123456789abcdefghijklmnop"
ASK = [ChatMessage("system", "You write Python."), ChatMessage("user", "reverse a string")]
ANSWER = "def reverse(s):\n    return s[::-1]\n"


def provider(url: str, bus: EventBus | None = None, **kw: Any) -> ChatProvider:
    cfg = LlmConfig(base_url=url, model="fake-coder", api_key=KEY, **kw)
    return ChatProvider(cfg, publish=bus.publish if bus else None)


async def test_a_normal_stream_arrives_token_by_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bus = EventBus()
    seen: list[LlmToken] = []
    bus.subscribe(LlmToken, seen.append)
    with FakeOpenAI(lambda body: Reply(ANSWER, delay=0.01)) as server:
        streamed = [t async for t in provider(server.url, bus).stream(ASK, query_id="q1")]
        completion = await provider(server.url, bus).complete(ASK, temperature=0.7)
    assert "".join(streamed) == ANSWER
    assert streamed == pieces(ANSWER)
    assert completion.text == ANSWER and completion.reason == "stop"
    assert completion.tokens == len(pieces(ANSWER)) and completion.first_token_s is not None
    assert [e.text for e in seen if e.query_id == "q1"] == pieces(ANSWER)
    assert [e.index for e in seen if e.query_id == "q1"] == list(range(len(pieces(ANSWER))))
    ended = bus.history(LlmStreamEnded)
    assert [e.reason for e in ended] == ["stop", "stop"]
    assert server.requests[0]["stream"] is True and server.requests[0]["model"] == "fake-coder"
    assert server.requests[1]["temperature"] == 0.7
    assert server.requests[0]["messages"][1] == {"role": "user", "content": "reverse a string"}
    assert server.auth_headers[0] == f"Bearer {KEY}"
    # The key goes to the server and nowhere else: not in logs, not in the config's repr.
    assert KEY not in caplog.text
    assert KEY not in repr(provider(server.url).config)


async def test_a_stream_dropped_mid_way_is_a_clear_error() -> None:
    with FakeOpenAI(lambda body: Reply(ANSWER * 5, drop_after=4)) as server:
        got: list[str] = []
        with pytest.raises(LlmError) as info:
            async for piece in provider(server.url).stream(ASK):
                got.append(piece)
    assert len(got) == 4
    assert info.value.code == "llm_error"
    assert "cut off after 4 tokens" in info.value.message
    assert "retry" in info.value.fix


async def test_a_stream_that_ends_without_done_is_not_taken_as_complete() -> None:
    with FakeOpenAI(lambda body: Reply(ANSWER, send_done=False)) as server, pytest.raises(LlmError) as info:
        await provider(server.url).complete(ASK)
    assert "ended before the model finished" in info.value.message


@pytest.mark.parametrize(
    ("status", "cls", "fix_words"),
    [
        (401, LlmError, "API key"),
        (404, LlmUnavailable, "llm.base_url"),
        (429, LlmError, "rate limiting"),
        (500, LlmError, "check its log"),
    ],
)
async def test_error_responses_carry_the_servers_message_and_a_fix(
    status: int, cls: type[LlmError], fix_words: str
) -> None:
    body = {"error": {"message": f"server says no ({status})", "type": "invalid_request_error"}}
    with FakeOpenAI(lambda _: Reply(status=status, error=body)) as server, pytest.raises(cls) as info:
        await provider(server.url).complete(ASK)
    assert f"HTTP {status}: server says no ({status})" in info.value.message
    assert fix_words in info.value.fix
    assert KEY not in str(info.value.to_dict())


async def test_a_slow_first_token_times_out_quickly_and_says_so() -> None:
    with FakeOpenAI(lambda _: Reply(ANSWER, first_delay=3.0)) as server:
        started = time.perf_counter()
        with pytest.raises(LlmTimeout) as info:
            await provider(server.url, timeout_seconds=0.5).complete(ASK)
        waited = time.perf_counter() - started
    assert waited < 2.5
    assert info.value.code == "timeout"
    assert "first token" in info.value.message and "llm.timeout_seconds" in info.value.fix


async def test_a_pause_mid_stream_times_out_too() -> None:
    with FakeOpenAI(lambda _: Reply(ANSWER, delay=1.5)) as server, pytest.raises(LlmTimeout) as info:
        await provider(server.url, timeout_seconds=0.5).complete(ASK)
    assert "next token (after 1)" in info.value.message


async def test_cancel_stops_the_stream_and_closes_the_connection() -> None:
    bus = EventBus()
    cancel = asyncio.Event()
    seen: list[LlmToken] = []

    def on_token(event: LlmToken) -> None:
        seen.append(event)
        if len(seen) == 3:
            cancel.set()

    bus.subscribe(LlmToken, on_token)
    with FakeOpenAI(lambda _: Reply("word " * 400, delay=0.05)) as server:
        started = time.perf_counter()
        completion = await provider(server.url, bus).complete(ASK, cancel=cancel)
        elapsed = time.perf_counter() - started
        for _ in range(40):  # the server notices the closed socket on its next write
            if server.disconnects:
                break
            await asyncio.sleep(0.05)
    assert completion.reason == "cancelled"
    assert completion.text == "word " * 3
    assert elapsed < 2.0  # 400 tokens would take 20 s
    assert server.disconnects == 1
    assert bus.history(LlmStreamEnded)[-1].reason == "cancelled"


async def test_cancelling_the_task_stops_the_stream_too() -> None:
    with FakeOpenAI(lambda _: Reply("word " * 400, delay=0.05)) as server:
        task = asyncio.create_task(provider(server.url).complete(ASK))
        # Cancel mid-stream: once the server has the request (a loaded machine may take longer
        # than any fixed wait to get there), and a few pieces later.
        for _ in range(200):
            if server.requests:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(40):
            if server.disconnects:
                break
            await asyncio.sleep(0.05)
    assert server.disconnects == 1


async def test_an_endpoint_nobody_listens_on_is_unavailable() -> None:
    with socket_port() as port:
        pass
    with pytest.raises(LlmUnavailable) as info:
        await provider(f"http://127.0.0.1:{port}/v1").complete(ASK)
    assert "Could not connect" in info.value.message and "ollama serve" in info.value.fix


async def test_remote_endpoints_need_the_network_and_urls_are_checked() -> None:
    remote = ChatProvider(LlmConfig(base_url="https://api.example.com/v1", model="m"))
    with pytest.raises(NetworkDisabled) as info:
        await remote.complete(ASK)
    assert "api.example.com" in info.value.message
    with pytest.raises(InvalidRequest):
        await ChatProvider(LlmConfig(base_url="ftp://127.0.0.1/v1", model="m")).complete(ASK)
    with pytest.raises(InvalidRequest):
        await ChatProvider(LlmConfig(base_url="http://127.0.0.1:1/v1", model=" ")).complete(ASK)


class socket_port:
    """A port that was free a moment ago (nothing listens on it)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        port: int = self.sock.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
