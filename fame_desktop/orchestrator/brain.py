"""The Brain: validates a query, routes it, asks the plugins, composes and audits the answer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fame_desktop.orchestrator.admin import AdminKeySet
from fame_desktop.orchestrator.audit import AuditEntry, AuditLog
from fame_desktop.orchestrator.audit_batch import AuditItem
from fame_desktop.orchestrator.audit_kinds import AuditKind
from fame_desktop.orchestrator.errors import (
    CapabilityDisabled,
    FameError,
    InvalidRequest,
    NetworkDisabled,
    PluginError,
    PluginNotFound,
)
from fame_desktop.orchestrator.events import (
    EventBus,
    PluginFailed,
    PluginLoaded,
    PluginReloaded,
    PluginStateChanged,
    QueryCompleted,
    QueryReceived,
    QueryRouted,
    StartupProgress,
)
from fame_desktop.orchestrator.intent_classifier import IntentModel
from fame_desktop.orchestrator.intent_training import training_set
from fame_desktop.orchestrator.plugin_loader import PluginRecord, call_time_limit
from fame_desktop.orchestrator.query import (
    ErrorDetail,
    QueryRequest,
    QueryResponse,
    new_query_id,
    parse_request,
    safe_text,
)
from fame_desktop.orchestrator.redaction import scrub_echo
from fame_desktop.orchestrator.route_choice import (
    ChoiceMemory,
    Part,
    clarify_data,
    clarify_text,
    label,
    split_parts,
)
from fame_desktop.orchestrator.route_consult import model_route
from fame_desktop.orchestrator.routing import Route, Router
from fame_desktop.orchestrator.routing_feedback import Feedback, RoutingFeedback
from fame_desktop.orchestrator.services import build_services
from fame_desktop.orchestrator.settings import CapabilitySettings
from fame_desktop.orchestrator.settings_watch import watch_settings
from fame_plugin_api import INTENTS

if TYPE_CHECKING:
    from fame_desktop.orchestrator.sandbox import Sandbox

log = logging.getLogger("fame.brain")

MAX_AUDIT_RESPONSE = 2000
#: How long a query waits for the classifier to be retrained after plugins changed.
RETRAIN_WAIT_S = 10.0


class Brain:
    """The master orchestrator.

    The Brain is the top of the object graph: it composes its parts through the one composition
    root, :func:`~fame_desktop.orchestrator.services.build_services`, handing it its own
    :meth:`handle_query` for the parts that ask (voice). ``Brain()`` does so for the default data
    dir (the seed's usage); front ends get one Brain from :func:`fame_desktop.app.build_app` and
    share its services.

    Args:
        data_dir: The data dir (default: ``$FAME_HOME`` or the platform's).
        bus: The event bus (default: a new one).
    """

    def __init__(
        self, data_dir: str | os.PathLike[str] | None = None, *, bus: EventBus | None = None
    ) -> None:
        self.services = build_services(data_dir, ask=self.handle_query, bus=bus)
        self._router: Router | None = None
        self._started = False
        self._services_started = False
        self._services_lock: asyncio.Lock | None = None
        self._start_lock: asyncio.Lock | None = None
        self._warm: asyncio.Future[None] | None = None
        self._intent_model: IntentModel | None = None
        self._retrain: asyncio.Future[None] | None = None
        self._settings_watch: asyncio.Future[None] | None = None
        self._choices = ChoiceMemory()
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
    def docker_manager(self) -> Sandbox:
        """The sandbox backend (the seed's name; ``DockerManager`` or ``SwarmSandbox``)."""
        return self.services.sandbox

    @property
    def routing_feedback(self) -> RoutingFeedback:
        """The user's routing corrections (``fame routing``)."""
        return self.services.routing_feedback

    @property
    def plugins(self) -> list[PluginRecord]:
        """Every plugin and its status."""
        return self.services.plugins.records()

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self, *, import_plugins: bool = True) -> None:
        """Load plugins and train the router: what answering needs (idempotent; the first query
        calls it). The sandbox, code generation and voice are built when a query first uses them;
        long-lived front ends bring them up ahead of that with :meth:`start_services`.

        Args:
            import_plugins: Import every built-in plugin now (a failing one is listed as failed
                at once). False (a one-shot ``fame ask``): each is imported when a query first
                calls it, so a calculator query loads only the calculator.
        """
        if self._started:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._started:
                return
            self.services.bus.bind_loop(asyncio.get_running_loop())
            await self.services.plugins.load_all_async(import_builtins=import_plugins)
            await self._refresh_intent_model()
            # Settings changed by the CLI, the window or the API in another process apply here too.
            self._settings_watch = asyncio.ensure_future(watch_settings(self.services.settings))
            self._started = True

    async def start_services(self) -> None:
        """:meth:`start`, then the sandbox's warm pool, voice (wake phrase, speaker) and the code
        library, so the first code or voice query does not wait (idempotent). Each step is
        published as a :class:`StartupProgress` event (the window's status bar shows them).

        The window calls it after its first paint and the API server when it starts; a one-shot
        CLI command never does (it would only pay for them).
        """
        if self._services_lock is None:
            self._services_lock = asyncio.Lock()
        async with self._services_lock:
            if self._services_started:
                return
            steps = ("plugins", "sandbox", "voice", "code library")
            publish = self.services.bus.publish

            def progress(step: int, state: str, detail: str = "") -> None:
                publish(
                    StartupProgress(
                        part=steps[step], state=state, step=step + 1, steps=len(steps), detail=detail
                    )
                )

            progress(0, "starting")
            await self.start()
            progress(0, "ready", f"{len(self.services.plugins.records())} plugins")
            # Each part is built (its modules imported) in a worker thread: the loop keeps painting.
            progress(1, "starting")
            sandbox = await asyncio.to_thread(lambda: self.services.sandbox)
            await sandbox.start()
            progress(1, "ready")
            progress(2, "starting")
            voice = await asyncio.to_thread(lambda: self.services.voice)
            await voice.start()
            progress(2, "ready")
            progress(3, "starting")
            codegen = await asyncio.to_thread(lambda: self.services.codegen)
            # Warm the code library in the background, so the first code query does not wait.
            self._warm = asyncio.ensure_future(codegen.ready())
            self._warm.add_done_callback(lambda task: _report_warm(task, lambda *a: progress(3, *a)))
            self._services_started = True

    async def aclose(self) -> None:
        """Stop voice and the sandbox pool, and close files (only what was built)."""
        for task in (self._warm, self._retrain, self._settings_watch):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        lazy = self.services.lazy
        voice, sandbox = lazy.voice.peek(), lazy.sandbox.peek()
        if voice is not None:
            await voice.aclose()
        if sandbox is not None:
            await sandbox.close()
        self.services.close()

    def _invalidate_router(self, _event: object) -> None:
        self._router = None
        if not self._started:
            return  # start() trains once all plugins are loaded
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        # New or changed plugins bring new example phrases: retrain in the background, routing
        # with the previous model (and the new keywords) until it is ready.
        if self._retrain is not None and not self._retrain.done():
            self._retrain.cancel()
        self._retrain = asyncio.ensure_future(self._refresh_intent_model())

    async def _refresh_intent_model(self) -> None:
        """Load (or train, in a worker thread) the classifier for the loaded plugins."""
        feedback = self.routing_feedback
        corrections = await asyncio.to_thread(feedback.corrections) if feedback.exists() else []
        examples = training_set(self.services.plugins.manifests(), corrections)
        try:
            model = self.services.intent_models.in_memory(examples)
            if model is None:  # reading (~15 ms) or training (~1 s) stays off the event loop
                model = await asyncio.to_thread(self.services.intent_models.build, examples)
            self._intent_model = model
        except (ValueError, MemoryError) as exc:  # routing by keywords still works
            log.error("could not train the intent classifier: %s", exc)
        self._router = None

    @property
    def router(self) -> Router:
        """The router over the loaded plugins' declarations and the classifier (rebuilt when
        plugins change)."""
        if self._router is None:
            self._router = Router(self.services.plugins.manifests(), self._intent_model)
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
            response = QueryResponse(id=query_id, text=safe_text(raw))
            return self._finish(response, exc, started, actor="unknown", kind=AuditKind.QUERY_REJECTED)
        query_id = req.id or query_id
        actor = req.source + (f":{req.user}" if req.user else "")
        response = QueryResponse(id=query_id, text=req.text)
        # The query's entries wait here and are committed in (usually) two group commits: the
        # query and its route just before anything acts on them (a model consulted, a plugin
        # called), and the plugins' results with the answer. Concurrent queries share them.
        pending: list[AuditItem] = [
            (
                AuditKind.QUERY,
                {
                    "id": query_id,
                    "text": req.text,
                    "source": req.source,
                    "user": req.user,
                    "intent": req.intent,
                },
                actor,
                req.text[:200],
            )
        ]
        self.services.bus.publish(QueryReceived(query_id=query_id, text=req.text, source=req.source))
        try:
            self._choices.remember(dict(req.params), req.intent)
            if req.intent is None:
                await self._current_router()
            route, records = self._route(req)
            consulted: dict[str, str] = {}
            if route.uncertain and req.intent is None:
                await self._commit(pending)  # on record before the model sees the text
                route, records, consulted = await self._route_by_model(req.text, route, records)
            settled = route.explicit or route.ambiguous or route.rule
            parts = None if settled else split_parts(self.router, req.text)
            if route.ambiguous or parts:
                records = []
            response.intent, response.confidence = route.intent, route.confidence
            response.plugins = [r.name for r in records]
            pending.append(
                (
                    AuditKind.ROUTING,
                    {
                        "id": query_id,
                        "intent": route.intent,
                        "confidence": route.confidence,
                        "explicit": route.explicit,
                        "rule": route.rule or None,
                        "plugins": response.plugins,
                        "scores": dict(sorted(route.scores.items(), key=lambda kv: -kv[1])[:4]),
                        "clarify": list(route.alternatives),
                        "parts": [{"text": p.text, "intent": p.route.intent} for p in parts or []],
                        **({"model": consulted} if consulted else {}),
                    },
                    actor,
                    _routing_summary(route, parts, response.plugins),
                )
            )
            self.services.bus.publish(
                QueryRouted(
                    query_id=query_id,
                    intent=route.intent,
                    confidence=route.confidence,
                    plugins=tuple(response.plugins),
                )
            )
            if route.ambiguous:
                clarify = clarify_data(route, req.text)
                response.data, response.response = {"clarify": clarify}, clarify_text(clarify)
            elif parts:
                await self._answer_parts(req, query_id, parts, response, actor, pending)
            else:
                await self._answer(req, query_id, route, records, response, actor, pending)
        except asyncio.CancelledError:
            pending.append((AuditKind.QUERY_CANCELLED, {"id": query_id}, actor, "cancelled by the user"))
            self.services.audit.append_many(pending)
            raise
        except FameError as exc:
            return await self._finish_batched(response, exc, started, actor, pending)
        except BaseException:
            if pending:  # a bug: what happened so far stays on record
                self.services.audit.append_many(pending)
            raise
        return await self._finish_batched(response, None, started, actor, pending)

    async def _commit(self, pending: list[AuditItem]) -> list[AuditEntry]:
        """Commit the waiting entries (with other queries' of this loop turn); empties ``pending``."""
        items = pending[:]
        pending.clear()  # handed over: committed even if this query is cancelled meanwhile
        return await self.services.audit_batch.append_many(items)

    async def _current_router(self) -> Router:
        """The router, after a retrain for changed plugins (about a second) has finished, so a
        plugin's own example phrases count from its first query on."""
        retrain = self._retrain
        if retrain is not None and not retrain.done():
            await asyncio.wait({retrain}, timeout=RETRAIN_WAIT_S)
        return self.router

    def _route(self, req: QueryRequest) -> tuple[Route, list[PluginRecord]]:
        route = self.router.route(req.text, req.intent)
        remembered = self._choices.recall(dict(req.params), route)
        if remembered is not None:  # the user settled this dilemma earlier in the conversation
            route = Route(remembered, route.confidence, route.scores)
        records = self.services.plugins.for_intent(route.intent)
        if not records:
            raise PluginNotFound(
                f"No loaded plugin answers '{route.intent}' queries.",
                "Check the Plugins pane (or `fame plugins`) for failed or disabled plugins.",
            )
        return route, records

    async def _route_by_model(
        self, text: str, route: Route, records: list[PluginRecord]
    ) -> tuple[Route, list[PluginRecord], dict[str, str]]:
        """Let the configured model choose the intent of an uncertain route (see
        :mod:`~fame_desktop.orchestrator.route_consult`); without a model nothing changes."""
        provider = self.services.llm()
        if provider is None:
            return route, records, {}
        plugins = self.services.plugins
        # Only intents a plugin would answer without an admin or a dangerous capability.
        intents = [
            intent
            for intent in self.router.intents
            if any(
                r.manifest is not None and not r.manifest.dangerous and not r.manifest.admin_only
                for r in plugins.for_intent(intent)
            )
        ]
        # Not tagged with the query: the chat pane shows the answer's tokens, not this choice's.
        chosen, consulted = await model_route(provider, text, route, intents)
        chosen_records = plugins.for_intent(chosen.intent) if chosen is not route else records
        if not chosen_records:
            return route, records, {**consulted, "problem": f"no plugin answers {chosen.intent}"}
        return chosen, chosen_records, consulted

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
        response: QueryResponse,
        actor: str,
        pending: list[AuditItem],
    ) -> None:
        allowed: list[PluginRecord] = []
        refusal: FameError | None = None
        for rec in records:
            try:
                self._gate(rec, req, actor)
                allowed.append(rec)
            except FameError as exc:
                refusal = refusal or exc
                pending.append(
                    (
                        AuditKind.PLUGIN_REFUSED,
                        {"id": query_id, "plugin": rec.name, "error": exc.to_dict()},
                        actor,
                        f"{rec.name}: {exc.code}",
                    )
                )
        if not allowed:
            assert refusal is not None
            raise refusal
        if pending:
            await self._commit(pending)  # the query and its route are on record before a plugin acts
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
            self.services.plugins.call(rec, payload, call_time_limit(rec, default_timeout)) for rec in allowed
        ]
        results: list[dict[str, Any] | BaseException]
        if len(calls) == 1:
            # The usual case: one plugin, awaited in this task (gather would make one for it).
            try:
                results = [await calls[0]]
            except Exception as exc:
                results = [exc]
        else:
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
                pending.append(
                    (
                        AuditKind.PLUGIN_RESULT,
                        {"id": query_id, "plugin": rec.name, "ok": False, "error": error.to_dict()},
                        actor,
                        f"{rec.name}: {error.code}",
                    )
                )
                continue
            plugin_error = result.get("error")
            if plugin_error and isinstance(plugin_error, dict):
                first_error = first_error or _plugin_reported(plugin_error)
            answers.append((rec, result))
            # Committed with the answer (QUERY_COMPLETED), in one transaction.
            pending.append(
                (
                    AuditKind.PLUGIN_RESULT,
                    {
                        "id": query_id,
                        "plugin": rec.name,
                        "ok": not plugin_error,
                        "error": plugin_error,
                        "response": str(result.get("response", result.get("text", "")))[:MAX_AUDIT_RESPONSE],
                    },
                    actor,
                    f"{rec.name}: {'error' if plugin_error else 'ok'}",
                )
            )
        if not answers:
            assert first_error is not None
            raise first_error
        _compose(response, answers)
        if all(r.get("error") for _, r in answers) and first_error is not None:
            response.error = ErrorDetail(**first_error.to_dict())

    async def feedback(
        self,
        *,
        query_id: str,
        text: str,
        routed: str,
        correct: str | None = None,
        rating: int | None = None,
        actor: str = "ui",
    ) -> Feedback:
        """Keep the user's feedback on one answer; a correction retrains the classifier at once.

        Args:
            query_id: The answer's query id.
            text: The query's text.
            routed: The intent it was routed to.
            correct: The intent the user says was meant ("wrong plugin?").
            rating: 1 for thumbs up, -1 for thumbs down.
            actor: Who gave it (audited).

        Raises:
            InvalidRequest: ``correct`` is not a known intent, or ``rating`` is not 1/-1.
        """
        if correct is not None and correct not in INTENTS:
            raise InvalidRequest(f"Unknown intent {correct!r}; use one of {', '.join(sorted(INTENTS))}.")
        if rating not in (None, 1, -1):
            raise InvalidRequest("A rating is 1 (thumbs up) or -1 (thumbs down).")
        item = await asyncio.to_thread(
            self.routing_feedback.record,
            query_id=query_id,
            text=text,
            routed=routed,
            correct=correct,
            rating=rating,
        )
        what = (
            f"{routed} -> {correct}"
            if item.wrong_route
            else {1: "thumbs up", -1: "thumbs down"}.get(rating or 0, "feedback")
        )
        self.services.audit.append(
            AuditKind.ROUTING_FEEDBACK,
            {"id": query_id, "routed": routed, "correct": correct, "rating": rating, "text": item.text},
            actor=actor,
            summary=f"{what}: {item.text[:120]}",
        )
        if item.wrong_route:
            await self._refresh_intent_model()
        return item

    async def reset_routing_feedback(self, *, actor: str) -> int:
        """Forget the user's routing feedback and retrain without it; how many entries went."""
        removed = await asyncio.to_thread(self.routing_feedback.reset)
        self.services.audit.append(
            AuditKind.ROUTING_FEEDBACK,
            {"reset": True, "removed": removed},
            actor=actor,
            summary=f"routing feedback reset ({removed} entries)",
        )
        await self._refresh_intent_model()
        return removed

    async def _answer_parts(
        self,
        req: QueryRequest,
        query_id: str,
        parts: list[Part],
        response: QueryResponse,
        actor: str,
        pending: list[AuditItem],
    ) -> None:
        """Answer each part of a two-part query on its own and put the answers together."""
        subs: list[QueryResponse] = []
        for part in parts:
            sub = QueryResponse(
                id=query_id, text=part.text, intent=part.route.intent, confidence=part.route.confidence
            )
            try:
                records = self.services.plugins.for_intent(part.route.intent)
                if not records:
                    raise PluginError(f"No loaded plugin answers '{part.route.intent}' queries.")
                sub_req = req.model_copy(update={"text": part.text})
                await self._answer(sub_req, query_id, part.route, records, sub, actor, pending)
            except FameError as exc:
                sub.error = ErrorDetail(**exc.to_dict())
                sub.response = sub.error.message
            subs.append(sub)
        response.response = "\n\n".join(
            f"### {label(sub.intent or '')}: {sub.text}\n\n{sub.response}" for sub in subs
        )
        part_keys = ("text", "intent", "confidence", "plugins", "data", "error")
        response.data = {"parts": [{k: d[k] for k in part_keys} for d in (sub.to_dict() for sub in subs)]}
        response.plugins = [name for sub in subs for name in sub.plugins]
        response.confidence = min(sub.confidence for sub in subs)
        for sub in subs:
            if response.code is None and sub.code is not None:
                response.code, response.test_report, response.tests = sub.code, sub.test_report, sub.tests
        if all(sub.error for sub in subs):
            response.error = subs[0].error

    def _finish(
        self,
        response: QueryResponse,
        error: FameError | None,
        started: float,
        *,
        actor: str,
        kind: AuditKind = AuditKind.QUERY_COMPLETED,
    ) -> dict[str, Any]:
        out, item = self._completion(response, error, started, actor=actor, kind=kind)
        kind, data, who, summary = item
        return self._published(
            response, out, self.services.audit.append(kind, data, actor=who, summary=summary)
        )

    async def _finish_batched(
        self,
        response: QueryResponse,
        error: FameError | None,
        started: float,
        actor: str,
        pending: list[AuditItem],
    ) -> dict[str, Any]:
        """:meth:`_finish` committing the query's waiting entries with its answer, in one group commit."""
        out, item = self._completion(response, error, started, actor=actor, kind=AuditKind.QUERY_COMPLETED)
        pending.append(item)
        entries = await self._commit(pending)
        return self._published(response, out, entries[-1])

    def _published(self, response: QueryResponse, out: dict[str, Any], entry: AuditEntry) -> dict[str, Any]:
        out["audit_id"] = response.audit_id = entry.id
        self.services.bus.publish(QueryCompleted(query_id=response.id, response=out))
        return out

    def _completion(
        self,
        response: QueryResponse,
        error: FameError | None,
        started: float,
        *,
        actor: str,
        kind: AuditKind,
    ) -> tuple[dict[str, Any], AuditItem]:
        """The response dict and its audit entry (not yet written)."""
        if error is not None:
            response.error = ErrorDetail(**error.to_dict())
            response.response = response.error.message
        # A plugin quoting the question back must not show a key or password it carried.
        response.response = scrub_echo(response.text, response.response)
        response.processing_time_ms = round((time.perf_counter() - started) * 1000, 2)
        out = response.to_dict()
        data = {
            "id": response.id,
            "intent": response.intent,
            "plugins": response.plugins,
            "error": out["error"],
            "response": response.response[:MAX_AUDIT_RESPONSE],
            "has_code": bool(response.code),
            "test_report": _report_summary(response.test_report),
            "processing_time_ms": response.processing_time_ms,
        }
        summary = (f"{response.error.code}: " if response.error else "") + response.response[:150]
        return out, (kind, data, actor, summary)


def _report_warm(task: asyncio.Future[None], progress: Callable[[str, str], None]) -> None:
    """Publish how warming the code library ended (nothing if it was cancelled at close)."""
    if task.cancelled():
        return
    error = task.exception()
    progress("failed" if error else "ready", str(error or ""))


def _routing_summary(route: Route, parts: list[Part] | None, plugins: list[str]) -> str:
    if route.ambiguous:
        return f"asked: {' or '.join(route.alternatives)} ({route.confidence:.2f})"
    if parts:
        return "two parts: " + ", ".join(p.route.intent for p in parts)
    by = " (chosen by the model)" if route.decided_by == "model" else ""
    return f"{route.intent} ({route.confidence:.2f}){by} -> {', '.join(plugins) or 'none'}"


def _has_capability(name: str) -> bool:
    return name in CapabilitySettings.model_fields


def _plugin_reported(error: dict[str, Any]) -> FameError:
    exc = FameError(str(error.get("message", "The plugin reported an error.")))
    exc.code = str(error.get("code", "plugin_error"))
    return exc


def _report_summary(report: dict[str, Any] | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {k: report.get(k) for k in ("status", "exit_code", "passed", "failed", "duration_ms", "backend")}


def _compose(response: QueryResponse, answers: list[tuple[PluginRecord, dict[str, Any]]]) -> None:
    """Merge one or several plugin answers into the response object."""
    if len(answers) == 1:
        rec, result = answers[0]
        response.response = str(result.get("response", result.get("text", "")))
        data = result.get("data", result.get("metadata", {}))
        response.data = data if isinstance(data, dict) else {"value": data}
    else:
        parts = []
        for rec, result in answers:
            title = rec.manifest.description.split(".")[0] if rec.manifest else rec.name
            parts.append(f"### {title}\n\n{result.get('response', result.get('text', ''))}")
        response.response = "\n\n".join(parts)
        response.data = {rec.name: result.get("data", result.get("metadata", {})) for rec, result in answers}
    for _, result in answers:
        if response.code is None and isinstance(result.get("code"), str):
            response.code = result["code"]
            tests = result.get("tests")
            response.tests = tests if isinstance(tests, str) else None
        if response.test_report is None and isinstance(result.get("test_report"), dict):
            response.test_report = result["test_report"]
    response.plugins = [rec.name for rec, _ in answers]
