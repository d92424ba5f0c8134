"""The ASGI gate in front of every route: auth, rate limit, body size, audit, metrics, no traces.

It is the outermost layer of the API, so every request is audited with its final status. Requests
that reach a route get one ``api_request`` row each (actor ``api:<key fingerprint>``). Requests the
gate refuses for want of a valid key (401, 403) or for their rate (429) are audited in aggregate by
:class:`RefusalLog`: one ``api_refused`` row per client per minute with the counts, so a flood of
wrong keys cannot fill the disk (one row each cost about 2.8 GB a day at 89 requests/s).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fame_desktop.api.auth import API_KEY_HEADER, ApiAuth, AuthOutcome, Principal
from fame_desktop.api.ratelimit import RateLimiter, retry_after_header
from fame_desktop.orchestrator.audit_kinds import AuditAppend, AuditKind
from fame_desktop.orchestrator.metrics import Metrics

log = logging.getLogger("fame.api")

AuditAppendAsync = Callable[..., Awaitable[object]]
#: A route answered by the gate itself: (body, API key) -> (status, JSON body), or None to pass
#: the request on to the application (which then answers it, errors included, as it always does).
FastRoute = Callable[[bytes, str | None], Awaitable[tuple[int, bytes] | None]]

# Paths anyone may read: the health probe, and the API's own description (it holds no data).
PUBLIC_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/openapi.json"})
# The docs page's own files (Swagger UI), public like the page.
PUBLIC_PREFIXES = ("/docs/assets/",)
# Paths that need an admin key. Every API key is an admin key today (see auth.py), so this only
# matters once non-admin keys exist; the check is kept so the rule is stated in one place.
ADMIN_PATHS = frozenset({"/audit", "/evolution/run", "/metrics"})
_HEADER = API_KEY_HEADER.lower().encode()
# Statuses of refusals audited in aggregate (429 always; 401/403 when no valid key was shown).
_AGGREGATED_ANONYMOUS = frozenset({401, 403, 429})
# Bounds on what one aggregate row keeps, so the row stays small whatever the flood sends.
MAX_CLIENTS_PER_MINUTE = 1000
_MAX_LISTED = 10


@dataclass
class _Refusals:
    count: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    fingerprints: set[str] = field(default_factory=set)
    first: float = 0.0
    last: float = 0.0


class RefusalLog:
    """Refused requests counted per client and actor, written as one audit row per minute.

    A minute's counts are written when the next minute's first refusal arrives, by a timer at the
    end of the minute, and by :meth:`flush` on shutdown. Lists in a row are capped, and so is the
    number of clients per minute (the rest are summed under ``"other"``).

    Args:
        audit: ``AuditLog.append``.
        clock: Wall clock (seconds).
    """

    def __init__(self, audit: AuditAppend, clock: Callable[[], float] = time.time) -> None:
        self._audit = audit
        self._clock = clock
        self._lock = threading.Lock()
        self._minute = -1
        self._pending: dict[tuple[str, str], _Refusals] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, client: str, actor: str, status: int, outcome: str, path: str, fp: str | None) -> None:
        """Count one refused request."""
        now = self._clock()
        minute = int(now // 60)
        if minute != self._minute:
            self.flush()
        with self._lock:
            self._minute = minute
            key = (client, actor)
            if key not in self._pending and len(self._pending) >= MAX_CLIENTS_PER_MINUTE:
                key = ("other", "api:anonymous")
            agg = self._pending.setdefault(key, _Refusals(first=now))
            agg.count += 1
            agg.last = now
            agg.statuses[status] += 1
            agg.outcomes[outcome] += 1
            if path in agg.paths or len(agg.paths) < _MAX_LISTED:
                agg.paths[path[:100]] += 1
            if fp and len(agg.fingerprints) < _MAX_LISTED:
                agg.fingerprints.add(fp)
            schedule = self._timer is None
        if schedule:
            self._schedule(60 - now % 60 + 0.5)

    def _schedule(self, delay: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a direct call): the next minute or shutdown flushes
        with self._lock:
            self._timer = loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
            due = int(self._clock() // 60) != self._minute
        if due:
            self.flush()
        elif self._pending:
            self._schedule(60 - self._clock() % 60 + 0.5)

    def flush(self) -> int:
        """Write the pending counts (one row per client); returns how many rows were written."""
        with self._lock:
            pending, self._pending = self._pending, {}
            minute = self._minute
            if self._timer is not None and not pending:
                self._timer.cancel()
                self._timer = None
        for (client, actor), agg in pending.items():
            try:
                self._audit(
                    AuditKind.API_REFUSED,
                    {
                        "client": client,
                        "minute_start": minute * 60,
                        "count": agg.count,
                        "first": round(agg.first, 3),
                        "last": round(agg.last, 3),
                        "statuses": {str(k): v for k, v in sorted(agg.statuses.items())},
                        "auth_outcomes": dict(agg.outcomes),
                        "paths": dict(agg.paths.most_common(_MAX_LISTED)),
                        "key_fingerprints": sorted(agg.fingerprints),
                    },
                    actor=actor,
                    summary=f"{agg.count} refused API requests from {client} in one minute",
                )
            except Exception:
                log.exception("could not audit %d refused API requests from %s", agg.count, client)
        return len(pending)


def error_body(code: str, message: str) -> bytes:
    """The JSON body of every refusal: ``{"error": {"code", "message"}}``."""
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class Gate:
    """Pure ASGI middleware.

    Args:
        app: The FastAPI application inside.
        auth: Key checks.
        limiter: Per-key token buckets.
        max_body: Returns the current body limit in bytes.
        audit: ``AuditLog.append``.
        audit_async: ``AuditLog.append_async``: the per-request row is written by the audit's
            writer thread, so concurrent requests share commits and the event loop never waits
            on the disk (default: ``audit`` on the loop).
        metrics: Where request counts and latencies go.
        routes: The route templates, for metric labels.
        refusals: Where refused requests are counted (default: a new :class:`RefusalLog` over ``audit``).
        fast_posts: ``POST`` paths answered without the application's routing layers when the
            body is ``application/json`` and the request has no ``Origin`` (nothing for CORS to
            add): after the same key check, rate limit, body limit and audit as every request.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        auth: ApiAuth,
        limiter: RateLimiter,
        max_body: Callable[[], int],
        audit: AuditAppend,
        metrics: Metrics,
        routes: Iterable[str],
        refusals: RefusalLog | None = None,
        audit_async: AuditAppendAsync | None = None,
        fast_posts: dict[str, FastRoute] | None = None,
    ) -> None:
        self.app = app
        self.auth = auth
        self.limiter = limiter
        self.max_body = max_body
        self.audit = audit
        self.metrics = metrics
        self.routes = frozenset(routes)
        self.refusals = refusals or RefusalLog(audit)
        self.audit_async = audit_async
        self.fast_posts = fast_posts or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer = _Answer(send)
        principal = _NO_KEY
        try:
            principal = await self._handle(scope, receive, answer)
        except Exception:
            # The route or a layer inside failed: log the trace here, never send it.
            log.exception("API request %s %s failed", scope.get("method"), scope.get("path"))
            if not answer.started:
                await _reply(answer, 500, "internal_error", "The server failed to answer; see its log.")
        finally:
            await self._record(scope, principal, answer.status, time.perf_counter() - started)

    async def _handle(self, scope: Scope, receive: Receive, answer: _Answer) -> Principal:
        path: str = scope["path"]
        headers = dict(scope.get("headers") or [])
        key_bytes = headers.get(_HEADER)
        key = key_bytes.decode("latin-1") if key_bytes else None
        preflight = scope["method"] == "OPTIONS" and b"access-control-request-method" in headers
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or preflight
        principal = _NO_KEY
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        if key is not None and (not public or path == "/health"):
            principal = await self.auth.authenticate(key, address)
        bucket = f"key:{principal.fingerprint}" if principal.outcome is AuthOutcome.OK else f"ip:{address}"
        wait = self.limiter.check(bucket)
        if wait > 0:
            await _reply(
                answer,
                429,
                "rate_limited",
                f"Too many requests; retry in {retry_after_header(wait)} s.",
                {"retry-after": retry_after_header(wait)},
            )
            return principal
        if not public:
            refused = _refusal(principal, admin_needed=path in ADMIN_PATHS)
            if refused is not None:
                status, code, message, extra = refused
                await _reply(answer, status, code, message, extra)
                return principal
        body = await self._read_body(headers, receive, answer)
        if body is None:
            return principal
        fast = self.fast_posts.get(path) if scope["method"] == "POST" else None
        if (
            fast is not None
            and headers.get(b"content-type") == b"application/json"
            and b"origin" not in headers
        ):
            result = await fast(body, key)
            if result is not None:
                await answer.json(*result)
                return principal
        scope.setdefault("state", {})["principal"] = principal
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, answer.send)
        return principal

    async def _read_body(
        self, headers: dict[bytes, bytes], receive: Receive, answer: _Answer
    ) -> bytes | None:
        """The whole body, or None after answering 413 (checks Content-Length, then the stream)."""
        limit = self.max_body()
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _reply(answer, 400, "invalid_request", "The Content-Length header is not a number.")
                return None
            if size > limit:
                await _reply(answer, 413, "request_too_large", _too_large(limit))
                return None
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                await _reply(answer, 413, "request_too_large", _too_large(limit))
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _record(self, scope: Scope, principal: Principal, status: int, seconds: float) -> None:
        method = _printable(str(scope.get("method", ""))[:16])
        path = _printable(str(scope.get("path", ""))[:200])
        route = path if path in self.routes else "other"
        client = str((scope.get("client") or ("", 0))[0])
        try:
            self.metrics.observe_api_request(method, route, status, seconds)
            authenticated = principal.outcome is AuthOutcome.OK
            if status == 429 or (status in _AGGREGATED_ANONYMOUS and not authenticated):
                actor = principal.actor if authenticated else "api:anonymous"
                self.refusals.add(client, actor, status, principal.outcome.value, path, principal.fingerprint)
                return
            data = {
                "method": method,
                "path": path[:200],
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "auth_outcome": principal.outcome.value,
                "key_fingerprint": principal.fingerprint,
                "client": client,
            }
            actor, summary = principal.actor, f"{method} {path[:120]} -> {status}"
            if self.audit_async is not None:
                await self.audit_async(AuditKind.API_REQUEST, data, actor=actor, summary=summary)
            else:
                self.audit(AuditKind.API_REQUEST, data, actor=actor, summary=summary)
        except Exception:
            # An audit failure must not turn an answered request into a crash of the server.
            log.exception("could not audit API request %s %s", method, path)


def _too_large(limit: int) -> str:
    return f"The request body is larger than {limit} bytes; send less (api.max_body_bytes)."


def _printable(text: str) -> str:
    """``text`` with control characters escaped, so a stored path cannot forge terminal output."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _refusal(principal: Principal, *, admin_needed: bool) -> tuple[int, str, str, dict[str, str]] | None:
    outcome = principal.outcome
    if outcome is AuthOutcome.MISSING:
        return (
            401,
            "api_key_required",
            f"This endpoint needs an API key in the {API_KEY_HEADER} header. "
            "Create one with `fame admin add --label api --admin-key KEY` (or `fame admin init`).",
            {"www-authenticate": "ApiKey"},
        )
    if outcome is AuthOutcome.INVALID:
        return (403, "api_key_invalid", "The API key is not valid. Check it, or create a new one.", {})
    if outcome is AuthOutcome.LOCKED:
        wait = retry_after_header(principal.retry_after)
        return (
            429,
            "admin_locked",
            f"Too many wrong keys came from this client; wrong keys are refused for {wait} s.",
            {"retry-after": wait},
        )
    if admin_needed and not principal.admin:
        return (403, "admin_required", "This endpoint needs an admin key.", {})
    return None


class _Answer:
    """The answer's ``send``, remembering the status sent (for the audit row and the metrics)."""

    __slots__ = ("_send", "started", "status")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False
        self.status = 500  # what the request counts as if nothing was sent

    async def send(self, message: Message) -> None:
        """Pass ``message`` on (the application's answers go through here)."""
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.started = True
        await self._send(message)

    async def json(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        """Send a whole JSON answer: what ``JSONResponse`` sends, and ``Vary: Origin`` as the CORS
        layer adds to an answer for a request without ``Origin`` (caches key on it)."""
        self.status, self.started = status, True
        raw = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
        raw += headers if headers is not None else _VARY
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


_VARY = [(b"vary", b"Origin")]
# Requests that showed no key (a shared value: Principal is frozen).
_NO_KEY = Principal(AuthOutcome.MISSING)


async def _reply(
    answer: _Answer, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    """A refusal: ``{"error": {"code", "message"}}`` at ``status`` with ``headers``."""
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await answer.json(status, error_body(code, message), extra)
