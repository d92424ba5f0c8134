"""The REST API over the app's Brain, safety and audit, and the handle that serves it in-process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import socket
from collections.abc import Iterator
from functools import partial
from typing import Any

import uvicorn
from fastapi import FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from fame_desktop import __version__
from fame_desktop.api.auth import API_KEY_HEADER, ApiAuth
from fame_desktop.api.docs import add_docs
from fame_desktop.api.gate import Gate, RefusalLog
from fame_desktop.api.json_body import json_bytes
from fame_desktop.api.one_write import OneWriteHttpToolsProtocol
from fame_desktop.api.ratelimit import RateLimiter
from fame_desktop.api.schemas import (
    AuditEntryOut,
    ErrorOut,
    EvolutionRunIn,
    HealthOut,
    QueryIn,
    QueryOut,
    query_request,
)
from fame_desktop.api.statuses import query_status, status_of
from fame_desktop.app import App
from fame_desktop.orchestrator.audit_kinds import AuditKind
from fame_desktop.orchestrator.errors import FameError, InvalidRequest, PluginNotFound
from fame_desktop.orchestrator.evolution.request import check_run_request
from fame_desktop.orchestrator.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger("fame.api")

# Shown in the OpenAPI docs as the "Authorize" field; the gate does the real check.
_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="An admin key.")
_KEYED = [Security(_key_header)]
# What the gate answers for every keyed endpoint (``{"error": {"code", "message"}}``).
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No API key (`api_key_required`)."},
    403: {"model": ErrorOut, "description": "Wrong API key (`api_key_invalid`)."},
    413: {"model": ErrorOut, "description": "Body too large (`request_too_large`)."},
    422: {"model": ErrorOut, "description": "Body does not match the schema (`invalid_request`)."},
    429: {
        "model": ErrorOut,
        "description": "Rate limited, or locked out after wrong keys (see Retry-After).",
    },
    500: {"model": ErrorOut, "description": "The server failed (`internal_error`); see its log."},
}
# ``POST /query`` answers an error with the whole query response (its ``error`` has the same
# fields), at the status of ``error.code`` (see ``fame_desktop/api/statuses.py``).
_QUERY_OR_ERROR = QueryOut | ErrorOut
_QUERY_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    400: {"model": QueryOut, "description": "The request is invalid (`invalid_request`)."},
    403: {
        "model": _QUERY_OR_ERROR,
        "description": "Wrong API key (`api_key_invalid`), or the plugin needs admin (`admin_required`).",
    },
    404: {"model": QueryOut, "description": "No loaded plugin answers the intent (`plugin_not_found`)."},
    409: {
        "model": QueryOut,
        "description": "Refused by a setting an admin can change (`network_disabled`, `capability_disabled`).",
    },
    422: {
        "model": _QUERY_OR_ERROR,
        "description": "Body does not match the schema, or the plugin cannot do what is asked "
        "(its own code, e.g. `division_by_zero`).",
    },
    500: {"model": _QUERY_OR_ERROR, "description": "The plugin failed (`plugin_error`), or the server did."},
    502: {"model": QueryOut, "description": "The language model or an upstream service failed."},
    503: {"model": QueryOut, "description": "A part the answer needs is not available (`not_available`)."},
    504: {"model": QueryOut, "description": "The plugin took too long (`timeout`)."},
}
_EVOLUTION_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    400: {"model": ErrorOut, "description": "The task or population is invalid (`invalid_request`)."},
    503: {
        "model": ErrorOut,
        "description": "The sandbox (Docker engine) is unavailable (`sandbox_unavailable`), with the fix.",
    },
}
_PLUGIN_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    404: {"model": ErrorOut, "description": "No plugin of that name (`plugin_not_found`)."},
}


class SafeJSONResponse(JSONResponse):
    """JSON that never fails on a stray non-JSON value in plugin data (it becomes a string)."""

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


class GatedFastAPI(FastAPI):
    """FastAPI whose every request passes the :class:`Gate` first, before FastAPI's own layers.

    The gate is outside them (not one of its middlewares) so a request it answers itself, a
    refusal or ``POST /query``, costs none of their CPU; it is part of the application, so
    whoever serves the application serves it gated.
    """

    gate: Gate | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.gate is None:
            raise RuntimeError("the API's gate is not set up (create the API with create_api)")
        await self.gate(scope, receive, send)

    async def inner(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI itself, behind the gate."""
        await super().__call__(scope, receive, send)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors()[:3]:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        where = ".".join(loc) or "body"
        kind = err.get("type", "")
        if kind == "json_invalid":
            problems.append("the body is not valid JSON")
        elif kind == "extra_forbidden":
            problems.append(f"'{where}' is not an allowed field")
        else:
            problems.append(f"'{where}': {err.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(problems) + "."


def create_api(app: App, *, metrics: Metrics | None = None) -> GatedFastAPI:
    """The FastAPI application serving ``app``'s Brain.

    Args:
        app: The composed app (its Brain, safety, audit and settings are used as they are).
        metrics: Collectors to expose at ``/metrics`` (default: the app's own).
    """
    metrics = metrics or app.services.metrics
    api_settings = app.settings.settings.api
    api = GatedFastAPI(
        title="FAME Desktop API",
        version=__version__,
        description=(
            "The FAME Brain over HTTP. Every endpoint except /health needs an API key "
            f"(an admin key) in the `{API_KEY_HEADER}` header."
        ),
        debug=False,
        docs_url=None,  # served from the app's own files by add_docs, not from a CDN
        redoc_url=None,
    )
    add_docs(api)

    @api.exception_handler(RequestValidationError)
    async def _on_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", _validation_message(exc))

    @api.exception_handler(Exception)
    async def _on_failure(_request: Request, _exc: Exception) -> JSONResponse:
        # Starlette answers a route's exception with this, then raises it on: the gate (outside
        # FastAPI's layers) logs the trace and audits the 500.
        return _error(500, "internal_error", "The server failed to answer; see its log.")

    @api.exception_handler(StarletteHTTPException)
    async def _on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return _error(
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            str(exc.detail),
            dict(exc.headers or {}),
        )

    @api.get("/health", response_model=HealthOut, summary="Liveness and a short status (public).")
    async def health(request: Request) -> HealthOut:
        status = app.services.status()
        principal = getattr(request.state, "principal", None)
        authorised = principal is not None and principal.key_id is not None
        return HealthOut(
            status="ok",
            version=status["version"],
            uptime_s=status["uptime_s"],
            plugins_loaded=len(status["plugins"]["loaded"]),
            plugins_failed=len(status["plugins"]["failed"]),
            docker_available=bool(status["docker"].get("available")),
            details=status if authorised else None,
        )

    @api.post(
        "/query",
        response_model=QueryOut,
        dependencies=_KEYED,
        responses=_QUERY_ERRORS,
        summary="Ask the Brain (the same response object as `fame ask --json`).",
        description="An answer whose `error` is set comes with the status of its code: 400, 403, "
        "404, 409, 422, 500, 502, 503 or 504 (the body is the same query response).",
    )
    async def query(body: QueryIn, request: Request) -> Response:
        status, content = await answer(body, request.headers.get(API_KEY_HEADER))
        return Response(content, status_code=status, media_type="application/json")

    async def answer(body: QueryIn, key: str | None) -> tuple[int, bytes]:
        """The status and JSON body of the answer to ``body``."""
        try:
            parsed = query_request(body, key)
        except InvalidRequest as exc:
            return status_of(exc), json_bytes(
                {"error": {"code": exc.code, "message": exc.to_dict()["message"]}}
            )
        response = await app.brain.handle_query(parsed)
        return query_status(response), json_bytes(response)

    async def query_fast(body: bytes, key: str | None) -> tuple[int, bytes] | None:
        """``POST /query`` without FastAPI's layers (most of a request's CPU outside the Brain):
        the body validated by the same model. A body it rejects is passed on, so FastAPI
        answers it with its own 422 (``json.loads``, then the model), as before."""
        try:
            parsed = QueryIn.model_validate_json(body)
        except ValidationError:
            return None
        return await answer(parsed, key)

    @api.get("/plugins", dependencies=_KEYED, responses=_ERRORS, summary="Every plugin and its status.")
    async def plugins() -> Response:
        return SafeJSONResponse([r.to_dict() for r in app.services.plugins.records()])

    @api.get(
        "/plugins/{name}", dependencies=_KEYED, responses=_PLUGIN_ERRORS, summary="One plugin and its status."
    )
    async def plugin(name: str) -> Response:
        found = app.services.plugins.get(name)
        if found is None:
            exc = PluginNotFound(f"No plugin called {name!r}.", "GET /plugins lists the names.")
            return _error(status_of(exc), exc.code, exc.to_dict()["message"])
        return SafeJSONResponse(found.to_dict())

    @api.get(
        "/audit",
        response_model=list[AuditEntryOut],
        dependencies=_KEYED,
        responses=_ERRORS,
        summary="The newest audit entries (admin).",
    )
    async def audit(
        limit: int = Query(100, ge=1, le=1000, description="How many, newest first."),
    ) -> Response:
        entries = app.audit.query(limit=limit)
        return SafeJSONResponse([e.to_dict() for e in entries])

    @api.post(
        "/evolution/run",
        dependencies=_KEYED,
        responses=_EVOLUTION_ERRORS,
        summary="Run one evolution generation (admin).",
    )
    async def evolution_run(body: EvolutionRunIn) -> Response:
        try:
            # A request that cannot start is a 400 whatever the sandbox's state.
            check_run_request(body.task, body.population_size)
        except InvalidRequest as exc:
            return _error(status_of(exc), exc.code, exc.to_dict()["message"])
        sandbox = app.sandbox.status()
        if not sandbox.get("available"):
            # Every candidate runs in the sandbox: without it the run could only fail.
            return _error(
                503, "sandbox_unavailable", f"The sandbox is unavailable: {sandbox.get('detail', '')}"
            )
        try:
            result = await app.services.evolution.run_generation(
                population_size=body.population_size, task=body.task
            )
        except FameError as exc:
            return _error(status_of(exc), exc.code, exc.to_dict()["message"])
        return SafeJSONResponse(result.to_dict())

    @api.get(
        "/metrics",
        dependencies=_KEYED,
        responses=_ERRORS,
        summary="Prometheus metrics (admin key; scrapers send it as a header).",
        response_class=Response,
    )
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    origins = list(api_settings.cors_origins)
    api.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", API_KEY_HEADER],
        max_age=600,
    )
    routes = [getattr(r, "path", "") for r in api.routes]
    # Refused requests are audited per client per minute; the server handle flushes on stop.
    refusals = RefusalLog(app.audit.append)
    api.state.fame_refusals = refusals
    api.gate = Gate(
        api.inner,
        auth=ApiAuth(app.services.keys),
        limiter=RateLimiter(lambda: app.settings.settings.api.rate_limit_per_minute),
        max_body=lambda: app.settings.settings.api.max_body_bytes,
        audit=app.audit.append,
        # Group commit on the loop: the row, written once the answer is sent (nobody has been told
        # of it), rides along with the next request's entries instead of making its own commit.
        audit_async=partial(app.services.audit_batch.append, ride_along=True),
        metrics=metrics,
        routes=routes,
        refusals=refusals,
        fast_posts={"/query": query_fast},
    )
    api.state.fame_metrics = metrics
    return api


# --- binding and serving ---------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host_allowed(app: App, host: str, *, actor: str) -> None:
    """Allow a non-loopback address only for an admin, and warn loudly when it is one.

    Raises:
        AdminRequired: ``host`` is not loopback and the app has no valid admin key or session.
    """
    if is_loopback(host):
        return
    app.safety.require_admin(app.admin_key, f"serving the API on {host}", actor)
    log.warning(
        "the API listens on %s, reachable from other machines: keep keys secret and use a firewall or TLS proxy",
        host,
    )
    app.audit.append(
        AuditKind.API_EXPOSED,
        {"host": host},
        actor=actor,
        summary=f"API bound to non-loopback address {host}",
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one).

    Raises:
        FameError: The address is taken or cannot be used.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise FameError(
            f"The API cannot listen on {host}:{port} ({exc.strerror or exc}).",
            "Pick another port with --port, or stop the program using it.",
        ) from exc
    sock.setblocking(False)
    return sock


#: Allocations between two young-generation collections in a server (Python's default is 700).
#: What a collection scans is what is alive then, about the requests in flight, whatever the
#: threshold: collecting 14x less often costs about 14x less. A request leaves few objects behind
#: (most go with their last reference), so collections stay rare and cyclic garbage small.
SERVING_GC_THRESHOLD = 10_000


def tune_gc_for_serving() -> int:
    """Set the garbage collector up for a process that only serves; returns the objects frozen.

    A server builds its app once (the Brain, FastAPI's routes, pydantic's schemas: about 70,000
    objects that live as long as the process) and then only short-lived objects per request. The
    collector's full collections still traversed the long-lived ones, holding the event loop
    55-300 ms under load (gc callbacks, 4,800 requests at load 3-5): every request waiting then
    was one of the slowest. Frozen (``gc.freeze``), they are skipped, and a full collection scans
    only what came later (about 20,000 objects, 10-30 ms). A collection first, so no garbage that
    exists now is frozen with them. The young generation is collected every
    :data:`SERVING_GC_THRESHOLD` allocations: 300-430 collections per 9,600 requests took
    26-37 us of the loop's CPU per request, 1-24 with it. For ``fame serve``; a window keeps
    building and dropping parts after it starts, so it does not call this.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(SERVING_GC_THRESHOLD, older, oldest)
    return gc.get_freeze_count()


class _EmbeddedServer(uvicorn.Server):
    """uvicorn that leaves signal handling to the program that embeds it."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


class ApiServerHandle:
    """Serve the API on the running event loop, sharing the app's Brain (window or CLI)."""

    def __init__(self) -> None:
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._refusals: RefusalLog | None = None
        self.host = ""
        self.port = 0

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._task is not None and not self._task.done()

    @property
    def url(self) -> str:
        """The base URL (empty when stopped)."""
        if not self.running:
            return ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(
        self, app: App, *, host: str | None = None, port: int | None = None, actor: str = "ui"
    ) -> str:
        """Start serving (host and port default to the ``api`` settings); returns the URL.

        Raises:
            AdminRequired: A non-loopback host without admin.
            FameError: The port is taken, or the server failed to start.
        """
        if self.running:
            return self.url
        cfg = app.settings.settings.api
        host = host or cfg.host
        port = cfg.port if port is None else port
        check_host_allowed(app, host, actor=actor)
        sock = bind_socket(host, port)
        self.host, self.port = host, int(sock.getsockname()[1])
        api = create_api(app)
        self._refusals = api.state.fame_refusals
        config = uvicorn.Config(
            api,
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=5,
            http=OneWriteHttpToolsProtocol,
        )
        server = _EmbeddedServer(config)
        self._server = server
        self._task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        ready = asyncio.ensure_future(server.ready.wait())
        await asyncio.wait({self._task, ready}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if self._task.done() or not server.started:
            exc = self._task.exception() if self._task.done() else None
            self._task = None
            sock.close()
            raise FameError(f"The API server did not start ({exc!r}).", "See the log for details.")
        log.info("API serving on %s", self.url)
        return self.url

    async def wait(self) -> None:
        """Until the server stops."""
        if self._task is not None:
            await asyncio.shield(self._task)

    def request_stop(self) -> None:
        """Ask the server to stop (signal-handler safe)."""
        if self._server is not None:
            self._server.should_exit = True

    async def stop(self) -> None:
        """Stop serving; open requests get a few seconds to finish."""
        task, server = self._task, self._server
        if task is None or server is None:
            return
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=8)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            self._task = None
            self._server = None
            if self._refusals is not None:
                self._refusals.flush()
