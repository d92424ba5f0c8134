"""The app's side of the plugin API: the context handed to a plugin's ``init(manager)``.

The contract itself (manifest model, intents, the :class:`~fame_plugin_api.PluginHost` protocol)
lives in the Qt-free ``fame_plugin_api`` package that plugins import. :class:`PluginContext`
implements that protocol over the orchestrator's services; plugins never see the services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from fame_desktop.orchestrator.errors import CapabilityDisabled, NetworkDisabled
from fame_desktop.orchestrator.events import Event, QueryProgress
from fame_desktop.orchestrator.llm.base import ChatMessage, LlmProvider, Role
from fame_desktop.orchestrator.llm.local_models import GET_MODEL_HINT
from fame_plugin_api import JSONObject, ServiceUnavailable

if TYPE_CHECKING:
    import httpx


# What the context needs of each service, structurally: the services' modules import the
# composition root, so naming their classes here would tie this module into that cycle.
class CodeGenerator(Protocol):
    """Code generation (``CodeGenService``)."""

    async def answer(self, text: str, *, query_id: str | None = None) -> dict[str, Any]:
        """A ``handle`` result with tested code."""
        ...


class ArchitectureAdvisor(Protocol):
    """Architecture design (``ArchitectureService``)."""

    async def answer(self, text: str, *, query_id: str | None = None) -> dict[str, Any]:
        """``{"markdown", "patterns": [{"id", "score"}], ...}`` for ``text``."""
        ...


class _Report(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class SandboxRunner(Protocol):
    """The sandbox (a :class:`~fame_desktop.orchestrator.sandbox.Sandbox` backend)."""

    async def run(
        self,
        code: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the run's own limit, enforced by the engine
        query_id: str | None = None,
    ) -> _Report:
        """Run ``code``; the report."""
        ...


class EvolutionService(Protocol):
    """The evolution runner (``EvolutionRunner``)."""

    async def run_from_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer an ``evolution`` query."""
        ...


@dataclass
class PluginContext:
    """The :class:`fame_plugin_api.PluginHost` the app gives each plugin.

    The composition root fills in how to get each service (the first task that needs one builds
    it: loading a plugin must not start the sandbox); a missing one makes its task raise
    :class:`~fame_plugin_api.ServiceUnavailable`.
    """

    name: str
    get_setting: Callable[[str], Any]
    publish_event: Callable[[Event], None]
    list_plugins: Callable[[], list[JSONObject]]
    status: Callable[[], JSONObject]
    codegen: Callable[[], CodeGenerator] | None = None
    architecture: Callable[[], ArchitectureAdvisor] | None = None
    sandbox: Callable[[], SandboxRunner] | None = None
    evolution: Callable[[], EvolutionService] | None = None
    llm: Callable[[], LlmProvider | None] | None = None

    @property
    def log(self) -> logging.Logger:
        """The plugin's own logger."""
        return logging.getLogger(f"fame.plugin.{self.name}")

    def setting(self, path: str) -> Any:
        """A setting by dotted path, e.g. ``services.coingecko_url``."""
        return self.get_setting(path)

    @property
    def network_allowed(self) -> bool:
        """Whether the network is on."""
        return bool(self.get_setting("network.allow_network"))

    def require_network(self, what: str = "This request") -> None:
        """Raise :class:`NetworkDisabled` unless the network is on."""
        if not self.network_allowed:
            raise NetworkDisabled(what)

    def require_capability(self, capability: str) -> None:
        """Raise :class:`CapabilityDisabled` unless an admin enabled ``capability``."""
        if not self.get_setting(f"capabilities.{capability}"):
            raise CapabilityDisabled(capability)

    def http_client(self, *, base_url: str = "", timeout: float | None = None) -> httpx.AsyncClient:
        """An HTTP client for this plugin; raises :class:`NetworkDisabled` when the network is off."""
        self.require_network()
        import httpx  # only plugins that reach the network pay for it, not start-up

        return httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout or float(self.get_setting("services.http_timeout_seconds")),
            follow_redirects=True,
            headers={"User-Agent": "FAME-Desktop/0.1 (+https://github.com/fame-desktop)"},
        )

    def progress(self, query_id: str, message: str, fraction: float | None = None) -> None:
        """Report progress of a long answer to the window and CLI."""
        self.publish_event(QueryProgress(query_id=query_id, message=message, fraction=fraction))

    async def generate_code(self, text: str, *, query_id: str | None = None) -> JSONObject:
        """Tested code for ``text`` (see :meth:`fame_plugin_api.PluginHost.generate_code`)."""
        if self.codegen is None:
            raise ServiceUnavailable("Code generation is not available in this app.")
        return await self.codegen().answer(text, query_id=query_id or None)

    async def design_architecture(self, text: str, *, query_id: str | None = None) -> JSONObject:
        """Architecture advice (see :meth:`fame_plugin_api.PluginHost.design_architecture`)."""
        if self.architecture is None:
            raise ServiceUnavailable("The architecture knowledge base is not available in this app.")
        return await self.architecture().answer(text, query_id=query_id or None)

    async def run_in_sandbox(
        self,
        code: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the run's own limit, enforced by the sandbox
        query_id: str | None = None,
    ) -> JSONObject:
        """Run ``code`` in the sandbox (see :meth:`fame_plugin_api.PluginHost.run_in_sandbox`)."""
        if self.sandbox is None:
            raise ServiceUnavailable("The sandbox is not available in this app.")
        report = await self.sandbox().run(code, timeout=timeout, query_id=query_id or None)
        return report.to_dict()

    async def run_evolution(self, request: JSONObject) -> JSONObject:
        """An evolution cycle (see :meth:`fame_plugin_api.PluginHost.run_evolution`)."""
        if self.evolution is None:
            raise ServiceUnavailable("Evolution cycles are not available in this app.")
        return await self.evolution().run_from_request(dict(request))

    async def chat_with_model(
        self,
        messages: list[JSONObject],
        *,
        query_id: str | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.7,
    ) -> JSONObject:
        """The active model's answer (see :meth:`fame_plugin_api.PluginHost.chat_with_model`)."""
        provider = self.llm() if self.llm is not None else None
        if provider is None:
            raise ServiceUnavailable(
                "No language model is set up. " + GET_MODEL_HINT + " Or set an OpenAI-compatible "
                "endpoint (Ollama, LM Studio) in Settings → LLM."
            )
        chat = [
            ChatMessage(_ROLES[str(m.get("role"))], str(m.get("content", "")))
            for m in messages
            if str(m.get("role")) in _ROLES and str(m.get("content", "")).strip()
        ]
        completion = await provider.complete(
            chat, temperature=temperature, max_tokens=max_tokens, query_id=query_id or None
        )
        return {
            "text": completion.text,
            "reason": completion.reason,
            "backend": provider.backend,
            "model": provider.model,
            "name": provider.name,
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens or completion.tokens,
            "first_token_ms": None
            if completion.first_token_s is None
            else round(completion.first_token_s * 1000, 1),
            "tokens_per_s": round(completion.tokens_per_second, 1),
        }


_ROLES: dict[str, Role] = {"system": "system", "user": "user", "assistant": "assistant"}
