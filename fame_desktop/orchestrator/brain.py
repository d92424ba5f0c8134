"""The Brain: validates a query, routes it, asks the plugins, composes and audits the answer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from fame_desktop.orchestrator.admin import AdminKeySet
from fame_desktop.orchestrator.audit import AuditLog
from fame_desktop.orchestrator.errors import (
    CapabilityDisabled,
    FameError,
    NetworkDisabled,
    PluginError,
)
from fame_desktop.orchestrator.events import (
    PluginFailed,
    PluginLoaded,
    PluginReloaded,
    PluginStateChanged,
    QueryCompleted,
    QueryReceived,
    QueryRouted,
)
from fame_desktop.orchestrator.plugin_loader import PluginRecord
from fame_desktop.orchestrator.query import (
    QueryRequest,
    empty_response,
    new_query_id,
    parse_request,
    safe_text,
)
from fame_desktop.orchestrator.routing import Route, Router
from fame_desktop.orchestrator.services import Services, build_services

log = logging.getLogger("fame.brain")

MAX_AUDIT_RESPONSE = 2000


class Brain:
    """The master orchestrator.

    ``Brain()`` builds its own services for the default data dir (the seed's usage); front ends
    pass the services they built so the window, CLI and API share one Brain.

    Args:
        services: The composed domain services.
        data_dir: Data dir when ``services`` is not given.
    """

    def __init__(
        self, services: Services | None = None, *, data_dir: str | os.PathLike[str] | None = None
    ) -> None:
        self.services = services or build_services(data_dir)
        self._router: Router | None = None
        self._started = False
        self._start_lock: asyncio.Lock | None = None
        self._warm: asyncio.Future[None] | None = None
        self.admin_api_keys = AdminKeySet(self.services.keys)
        bus = self.services.bus
        for event_type in (PluginLoaded, PluginFailed, PluginReloaded, PluginStateChanged):
            bus.subscribe(event_type, self._invalidate_router)

    # --- the seed's attributes -------------------------------------------------------------------

    @property
    def allow_network(self) -> bool:
        """Whether the network is on (the seed's ``brain.allow_network``)."""
        return bool(self.services.settings.settings.network.allow_network)

    @allow_network.setter
    def allow_network(self, value: bool) -> None:
        # In-process Python code is trusted as the seed documents; the change is still audited.
        self.services.safety.update_settings(
            {"network.allow_network": bool(value)}, actor="python", trusted=True
        )

    @property
    def audit_log(self) -> AuditLog:
        """The persistent audit log; supports ``brain.audit_log[-100:]``."""
        return self.services.audit

    @property
    def docker_manager(self) -> Any:
        """The sandbox (``DockerManager``)."""
        return self.services.sandbox

    @property
    def plugins(self) -> list[PluginRecord]:
        """Every plugin and its status."""
        return self.services.plugins.records()

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load plugins and start the sandbox (idempotent; called by the first query too)."""
        if self._started:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._started:
                return
            self.services.bus.bind_loop(asyncio.get_running_loop())
            await self.services.plugins.load_all_async()
            if self.services.sandbox is not None:
                await self.services.sandbox.start()
            if self.services.voice is not None:
                await self.services.voice.start()
            # Warm the code library in the background, so the first code query does not wait.
            warm = getattr(self.services.codegen, "ready", None)
            if warm is not None:
                self._warm = asyncio.ensure_future(warm())
            self._started = True

    async def aclose(self) -> None:
        """Stop voice and the sandbox pool, and close files."""
        if self._warm is not None and not self._warm.done():
            self._warm.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._warm
        if self.services.voice is not None:
            await self.services.voice.aclose()
        if self.services.sandbox is not None:
            await self.services.sandbox.close()
        self.services.close()

    def _invalidate_router(self, _event: object) -> None:
        self._router = None

    @property
    def router(self) -> Router:
        """The router over the loaded plugins' declarations (rebuilt when plugins change)."""
        if self._router is None:
            self._router = Router(self.services.plugins.manifests())
        return self._router

    # --- queries ---------------------------------------------------------------------------------

    async def handle_query(self, request: Mapping[str, Any] | QueryRequest) -> dict[str, Any]:
        """Answer one query; never raises for bad input (the response carries ``error``).

        Raises:
            asyncio.CancelledError: The caller cancelled the query (audited first).
        """
        await self.start()
        started = time.perf_counter()
        raw: object = dict(request) if isinstance(request, Mapping) else request
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        query_id = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= 64 else new_query_id()
        try:
            req = parse_request(raw)
        except FameError as exc:
            response = empty_response(query_id, safe_text(raw))
            return self._finish(response, exc, started, actor="unknown", kind="query_rejected")
        query_id = req.id or query_id
        actor = req.source + (f":{req.user}" if req.user else "")
        response = empty_response(query_id, req.text)
        audit = self.services.audit
        audit.append(
            "query",
            {"id": query_id, "text": req.text, "source": req.source, "user": req.user, "intent": req.intent},
            actor=actor,
            summary=req.text[:200],
        )
        self.services.bus.publish(QueryReceived(query_id=query_id, text=req.text, source=req.source))
        try:
            route, records = self._route(req)
            response.update(
                intent=route.intent, confidence=route.confidence, plugins=[r.name for r in records]
            )
            audit.append(
                "routing",
                {
                    "id": query_id,
                    "intent": route.intent,
                    "confidence": route.confidence,
                    "explicit": route.explicit,
                    "plugins": response["plugins"],
                    "scores": dict(sorted(route.scores.items(), key=lambda kv: -kv[1])[:4]),
                },
                actor=actor,
                summary=f"{route.intent} ({route.confidence:.2f}) -> {', '.join(response['plugins']) or 'none'}",
            )
            self.services.bus.publish(
                QueryRouted(
                    query_id=query_id,
                    intent=route.intent,
                    confidence=route.confidence,
                    plugins=tuple(response["plugins"]),
                )
            )
            await self._answer(req, query_id, route, records, response, actor)
        except asyncio.CancelledError:
            audit.append("query_cancelled", {"id": query_id}, actor=actor, summary="cancelled by the user")
            raise
        except FameError as exc:
            return self._finish(response, exc, started, actor=actor)
        return self._finish(response, None, started, actor=actor)

    def _route(self, req: QueryRequest) -> tuple[Route, list[PluginRecord]]:
        route = self.router.route(req.text, req.intent)
        records = self.services.plugins.for_intent(route.intent)
        if not records:
            raise PluginError(
                f"No loaded plugin answers '{route.intent}' queries.",
                "Check the Plugins pane (or `fame plugins`) for failed or disabled plugins.",
            )
        return route, records

    def _gate(self, rec: PluginRecord, req: QueryRequest, actor: str) -> None:
        """Refuse before calling a plugin the safety settings do not allow."""
        manifest = rec.manifest
        assert manifest is not None
        if manifest.dangerous:
            capability = manifest.capability or next(iter(manifest.intents))
            enabled = _has_capability(capability) and bool(
                self.services.settings.get(f"capabilities.{capability}")
            )
            if not enabled:
                raise CapabilityDisabled(capability)
        if manifest.admin_only or manifest.dangerous:
            self.services.safety.require_admin(req.admin_key, f"the {rec.name} plugin", actor)
        if manifest.needs_network and not self.allow_network:
            raise NetworkDisabled(f"The {rec.name} plugin")

    async def _answer(
        self,
        req: QueryRequest,
        query_id: str,
        route: Route,
        records: list[PluginRecord],
        response: dict[str, Any],
        actor: str,
    ) -> None:
        allowed: list[PluginRecord] = []
        refusal: FameError | None = None
        for rec in records:
            try:
                self._gate(rec, req, actor)
                allowed.append(rec)
            except FameError as exc:
                refusal = refusal or exc
                self.services.audit.append(
                    "plugin_refused",
                    {"id": query_id, "plugin": rec.name, "error": exc.to_dict()},
                    actor=actor,
                    summary=f"{rec.name}: {exc.code}",
                )
        if not allowed:
            assert refusal is not None
            raise refusal
        payload = {
            "id": query_id,
            "text": req.text,
            "intent": route.intent,
            "user": req.user,
            "source": req.source,
            "confidence": route.confidence,
            "params": dict(req.params),
        }
        default_timeout = float(self.services.settings.settings.plugins.timeout_seconds)
        calls = [
            self.services.plugins.call(
                rec,
                payload,
                rec.manifest.timeout_seconds or default_timeout if rec.manifest else default_timeout,
            )
            for rec in allowed
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        answers: list[tuple[PluginRecord, dict[str, Any]]] = []
        first_error: FameError | None = None
        for rec, result in zip(allowed, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                error = (
                    result
                    if isinstance(result, FameError)
                    else PluginError(f"Plugin {rec.name} failed: {result!r}")
                )
                first_error = first_error or error
                self.services.audit.append(
                    "plugin_result",
                    {"id": query_id, "plugin": rec.name, "ok": False, "error": error.to_dict()},
                    actor=actor,
                    summary=f"{rec.name}: {error.code}",
                )
                continue
            plugin_error = result.get("error")
            if plugin_error and isinstance(plugin_error, dict):
                first_error = first_error or _plugin_reported(plugin_error)
            answers.append((rec, result))
            self.services.audit.append(
                "plugin_result",
                {
                    "id": query_id,
                    "plugin": rec.name,
                    "ok": not plugin_error,
                    "error": plugin_error,
                    "response": str(result.get("response", result.get("text", "")))[:MAX_AUDIT_RESPONSE],
                },
                actor=actor,
                summary=f"{rec.name}: {'error' if plugin_error else 'ok'}",
            )
        if not answers:
            assert first_error is not None
            raise first_error
        _compose(response, answers)
        if all(r.get("error") for _, r in answers) and first_error is not None:
            response["error"] = first_error.to_dict()

    def _finish(
        self,
        response: dict[str, Any],
        error: FameError | None,
        started: float,
        *,
        actor: str,
        kind: str = "query_completed",
    ) -> dict[str, Any]:
        if error is not None:
            response["error"] = error.to_dict()
            response["response"] = response["error"]["message"]
        response["processing_time_ms"] = round((time.perf_counter() - started) * 1000, 2)
        entry = self.services.audit.append(
            kind,
            {
                "id": response["id"],
                "intent": response["intent"],
                "plugins": response["plugins"],
                "error": response["error"],
                "response": str(response["response"])[:MAX_AUDIT_RESPONSE],
                "has_code": bool(response["code"]),
                "test_report": _report_summary(response["test_report"]),
                "processing_time_ms": response["processing_time_ms"],
            },
            actor=actor,
            summary=(f"{response['error']['code']}: " if response["error"] else "")
            + str(response["response"])[:150],
        )
        response["audit_id"] = entry.id
        self.services.bus.publish(QueryCompleted(query_id=response["id"], response=response))
        return response


def _has_capability(name: str) -> bool:
    from fame_desktop.orchestrator.settings import CapabilitySettings

    return name in CapabilitySettings.model_fields


def _plugin_reported(error: dict[str, Any]) -> FameError:
    exc = FameError(str(error.get("message", "The plugin reported an error.")))
    exc.code = str(error.get("code", "plugin_error"))
    return exc


def _report_summary(report: object) -> object:
    if not isinstance(report, dict):
        return None
    return {k: report.get(k) for k in ("status", "exit_code", "passed", "failed", "duration_ms", "backend")}


def _compose(response: dict[str, Any], answers: list[tuple[PluginRecord, dict[str, Any]]]) -> None:
    """Merge one or several plugin answers into the response object."""
    if len(answers) == 1:
        rec, result = answers[0]
        response["response"] = str(result.get("response", result.get("text", "")))
        data = result.get("data", result.get("metadata", {}))
        response["data"] = data if isinstance(data, dict) else {"value": data}
    else:
        parts = []
        for rec, result in answers:
            title = rec.manifest.description.split(".")[0] if rec.manifest else rec.name
            parts.append(f"### {title}\n\n{result.get('response', result.get('text', ''))}")
        response["response"] = "\n\n".join(parts)
        response["data"] = {
            rec.name: result.get("data", result.get("metadata", {})) for rec, result in answers
        }
    for _, result in answers:
        if response["code"] is None and isinstance(result.get("code"), str):
            response["code"] = result["code"]
            response["tests"] = result.get("tests")
        if response["test_report"] is None and isinstance(result.get("test_report"), dict):
            response["test_report"] = result["test_report"]
    response["plugins"] = [rec.name for rec, _ in answers]
    if not isinstance(response.get("tests"), str):
        response.pop("tests", None)
