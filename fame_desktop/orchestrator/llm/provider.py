"""An OpenAI-compatible chat-completions client with SSE streaming.

Covers Ollama, llama.cpp's server, LM Studio, vLLM and hosted services: anything that serves
``POST {base_url}/chat/completions`` with ``"stream": true``. Tokens are published as
:class:`~fame_desktop.orchestrator.llm.events.LlmToken` events while they arrive; a completion can
be stopped at any time with a cancel event (or by cancelling the task); every failure becomes a
:class:`~fame_desktop.orchestrator.llm.errors.LlmError` that says what happened and how to fix it.
The API key is sent only in the ``Authorization`` header and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fame_desktop.orchestrator.errors import InvalidRequest, NetworkDisabled
from fame_desktop.orchestrator.events import Event
from fame_desktop.orchestrator.llm.base import ChatMessage, Completion, JsonSchema, gather_pieces
from fame_desktop.orchestrator.llm.errors import LlmError, LlmTimeout, LlmUnavailable
from fame_desktop.orchestrator.llm.events import LlmStreamEnded, LlmToken
from fame_desktop.orchestrator.llm.sse import DONE, SseDecoder, error_message, parse_chunk

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("fame.llm")


@dataclass(frozen=True)
class LlmConfig:
    """Where and how to reach the model.

    Attributes:
        base_url: The ``/v1`` base, e.g. ``http://127.0.0.1:11434/v1``.
        model: Model name at that endpoint.
        api_key: Bearer token (empty for local servers); kept out of ``repr``.
        timeout_seconds: Longest wait for the first token and for any pause mid-stream.
        total_timeout_seconds: Longest whole completion (default: ten times ``timeout_seconds``).
    """

    base_url: str
    model: str
    api_key: str = field(default="", repr=False)
    timeout_seconds: float = 60.0
    total_timeout_seconds: float | None = None

    @property
    def endpoint(self) -> str:
        """The chat-completions URL."""
        base = self.base_url.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"

    @property
    def host(self) -> str:
        """The endpoint's host name (for messages and the network gate)."""
        return urlsplit(self.base_url).hostname or ""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (allowed even with the network off)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(config: LlmConfig, allow_network: bool) -> None:
    """Refuse a malformed endpoint, or a remote one while the network is off.

    Raises:
        InvalidRequest: The base URL is not an http(s) URL with a host, or no model is named.
        NetworkDisabled: The endpoint is not on this machine and the network is off.
    """
    parts = urlsplit(config.base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(
            f"The LLM base URL {config.base_url!r} is not an http(s) URL.",
            "Set llm.base_url to something like http://127.0.0.1:11434/v1.",
        )
    if not config.model.strip():
        raise InvalidRequest("No LLM model is set.", "Set llm.model (e.g. `llama3.1:8b`) in Settings.")
    if not allow_network and not is_loopback(parts.hostname):
        raise NetworkDisabled(f"The LLM endpoint {parts.hostname}")


class _Stopped(Exception):
    """Internal: the cancel event fired while waiting for the next line."""


class ChatProvider:
    """Streams chat completions from an OpenAI-compatible endpoint.

    Args:
        config: Endpoint, model, key and timeouts.
        allow_network: Returns whether the network is on (read at every request).
        publish: Event sink (``EventBus.publish``); tokens and stream ends are published.
    """

    def __init__(
        self,
        config: LlmConfig,
        *,
        allow_network: Callable[[], bool] = lambda: False,
        publish: Callable[[Event], None] | None = None,
    ) -> None:
        self.config = config
        self._allow_network = allow_network
        self._publish = publish

    @property
    def name(self) -> str:
        """``model @ host`` for answers and the status bar."""
        return f"{self.config.model} @ {self.config.host}"

    @property
    def backend(self) -> str:
        """Always ``openai`` (the wire protocol, whoever serves it)."""
        return "openai"

    @property
    def model(self) -> str:
        """The model's name at the endpoint."""
        return self.config.model

    @property
    def context_size(self) -> int | None:
        """Unknown: OpenAI-compatible servers do not report it."""
        return None

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.2,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
        json_schema: JsonSchema | None = None,
        query_id: str | None = None,
        cancel: asyncio.Event | None = None,
        stream_id: str | None = None,
    ) -> AsyncIterator[str]:
        """Yield the model's text piece by piece; stops quietly when ``cancel`` is set.

        Raises:
            LlmError: An error response, a cut-off stream or an unreadable event.
            LlmTimeout: No first token, or a pause, longer than ``timeout_seconds``.
            LlmUnavailable: The endpoint cannot be reached.
            NetworkDisabled: The endpoint is remote and the network is off.
        """
        cfg = self.config
        check_endpoint(cfg, self._allow_network())
        sid = stream_id or uuid.uuid4().hex[:12]
        qid = query_id or ""
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": [m.to_dict() for m in messages],
            "stream": True,
            "temperature": temperature,
        }
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if stop:
            body["stop"] = list(stop)[:4]  # OpenAI accepts at most four stop sequences
        if json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": dict(json_schema), "strict": True},
            }
        import httpx  # ~0.1 s to import (it pulls in its CLI): paid at the first completion, not start-up

        # httpx's own read timeout is a backstop; the per-token waits below give the clear messages.
        timeout = httpx.Timeout(connect=min(cfg.timeout_seconds, 10.0), read=None, write=30.0, pool=10.0)
        count = 0
        reason = "error"
        detail = ""
        log.info("completion: model=%s endpoint=%s messages=%d", cfg.model, cfg.endpoint, len(messages))
        try:
            async with (
                httpx.AsyncClient(timeout=timeout, trust_env=False) as client,
                client.stream("POST", cfg.endpoint, json=body, headers=self._headers()) as response,
            ):
                if response.status_code >= 400:
                    raise await self._http_error(response)
                lines = response.aiter_lines()
                decoder = SseDecoder()
                finished: str | None = None
                while finished is None:
                    wait = cfg.timeout_seconds
                    try:
                        line = await _next_line(lines, wait, cancel)
                    except StopAsyncIteration:
                        data = decoder.flush()
                        if data is None:
                            break
                        line, data = "", data
                    else:
                        data = decoder.feed(line)
                    if data is None:
                        continue
                    if data.strip() == DONE:
                        finished = finished or "stop"
                        break
                    delta = parse_chunk(data)
                    if delta.text:
                        self._emit(
                            LlmToken(
                                query_id=qid,
                                stream_id=sid,
                                index=count,
                                text=delta.text,
                                backend=self.backend,
                                model=cfg.model,
                            )
                        )
                        count += 1
                        yield delta.text
                    if delta.finish_reason:
                        finished = delta.finish_reason
                if finished is None:
                    raise LlmError(
                        f"The LLM stream from {cfg.host} ended before the model finished "
                        f"(after {count} tokens, no [DONE]).",
                        "The server closed the connection early; check its log, then retry.",
                    )
                reason = finished
        except _Stopped:
            reason = "cancelled"
        except TimeoutError as exc:
            what = "the first token" if count == 0 else f"the next token (after {count})"
            detail = f"timeout waiting for {what}"
            raise LlmTimeout(
                f"The LLM endpoint {cfg.host} sent nothing for {cfg.timeout_seconds:g} s while waiting for {what}.",
                "The model may still be loading or is overloaded: retry, or raise llm.timeout_seconds.",
            ) from exc
        except httpx.TimeoutException as exc:
            detail = "connect timeout"
            raise LlmTimeout(
                f"Connecting to the LLM endpoint {cfg.host} timed out.",
                "Check that the model server is running and llm.base_url is right.",
            ) from exc
        except httpx.ConnectError as exc:
            detail = "connect error"
            raise LlmUnavailable(
                f"Could not connect to the LLM endpoint {cfg.endpoint} ({exc}).",
                "Start the model server (for example `ollama serve`) or fix llm.base_url in Settings.",
            ) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            detail = "stream dropped"
            raise LlmError(
                f"The LLM stream from {cfg.host} was cut off after {count} tokens ({exc}).",
                "The server dropped the connection; check its log, then retry.",
            ) from exc
        except httpx.HTTPError as exc:
            detail = type(exc).__name__
            raise LlmError(f"Talking to the LLM endpoint {cfg.host} failed: {exc}.") from exc
        except LlmError as exc:
            detail = exc.message
            raise
        finally:
            self._emit(
                LlmStreamEnded(query_id=qid, stream_id=sid, reason=reason, tokens=count, detail=detail)
            )

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.2,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
        json_schema: JsonSchema | None = None,
        query_id: str | None = None,
        cancel: asyncio.Event | None = None,
    ) -> Completion:
        """Stream a whole completion and return it (tokens are published as they arrive).

        Raises:
            LlmError: As :meth:`stream`; also when the whole completion exceeds its total timeout.
        """
        sid = uuid.uuid4().hex[:12]
        started = time.perf_counter()
        cfg = self.config
        total = cfg.total_timeout_seconds or cfg.timeout_seconds * 10
        pieces = self.stream(
            messages,
            temperature=temperature,
            max_tokens=max_tokens,
            stop=stop,
            json_schema=json_schema,
            query_id=query_id,
            cancel=cancel,
            stream_id=sid,
        )
        try:
            async with asyncio.timeout(total):
                parts, first = await gather_pieces(pieces, started)
        except TimeoutError as exc:
            raise LlmTimeout(
                f"The LLM completion from {cfg.host} took longer than {total:g} s.",
                "Ask for less, or raise llm.timeout_seconds.",
            ) from exc
        reason = "cancelled" if cancel is not None and cancel.is_set() else "stop"
        return Completion(
            text="".join(parts),
            reason=reason,
            tokens=len(parts),
            duration_s=time.perf_counter() - started,
            first_token_s=first,
            stream_id=sid,
            completion_tokens=len(parts),
            backend=self.backend,
            model=cfg.model,
        )

    def _emit(self, event: Event) -> None:
        if self._publish is not None:
            self._publish(event)

    async def _http_error(self, response: httpx.Response) -> LlmError:
        raw = await response.aread()
        try:
            body: object = response.json() if raw else {}
        except ValueError:
            body = raw.decode("utf-8", "replace")
        message = error_message(body) or response.reason_phrase
        status = response.status_code
        fixes = {
            401: "Check the API key (Settings → LLM).",
            403: "Check the API key and that it may use this model.",
            404: f"Check llm.base_url (it should end in /v1) and that the model '{self.config.model}' exists.",
            429: "The endpoint is rate limiting: wait a moment and retry.",
        }
        fix = fixes.get(status, "The model server failed; check its log and retry." if status >= 500 else "")
        cls = LlmUnavailable if status in (404, 503) else LlmError
        return cls(f"The LLM endpoint {self.config.host} answered HTTP {status}: {message}.", fix)


async def _next_line(lines: AsyncIterator[str], wait_s: float, cancel: asyncio.Event | None) -> str:
    """The next line, racing the cancel event and a timeout.

    Raises:
        StopAsyncIteration: The body ended.
        TimeoutError: Nothing within ``wait_s`` seconds.
        _Stopped: ``cancel`` was set.
    """
    if cancel is not None and cancel.is_set():
        raise _Stopped
    nxt: asyncio.Future[str] = asyncio.ensure_future(anext(lines))
    waiters: set[asyncio.Future[Any]] = {nxt}
    stopper: asyncio.Future[Any] | None = None
    if cancel is not None:
        stopper = asyncio.ensure_future(cancel.wait())
        waiters.add(stopper)
    try:
        done, _ = await asyncio.wait(waiters, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if stopper is not None:
            stopper.cancel()
        if not nxt.done():
            nxt.cancel()
            with contextlib.suppress(BaseException):
                await nxt
    if nxt in done:
        return nxt.result()
    if cancel is not None and cancel.is_set():
        raise _Stopped
    raise TimeoutError
