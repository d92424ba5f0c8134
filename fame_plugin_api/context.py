"""What a plugin may ask of the app: the context handed to its ``init(manager)``.

The context offers tasks (generate code, advise on architecture, run code in the sandbox, evolve a
task), settings, an HTTP client that honours the network switch, progress reports and status — not
the app's services themselves. Task arguments and results are JSON values, so the same protocol can
later be served to a plugin running in another process.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

if TYPE_CHECKING:
    import httpx

#: A JSON object: what tasks take and return, and what ``handle`` returns.
JSONObject: TypeAlias = dict[str, Any]


class ServiceUnavailable(RuntimeError):
    """The app has no service for this task (e.g. no sandbox in this build); the message says which."""


class PluginHost(Protocol):
    """The context a plugin is given: everything it may use of the app.

    Refusals (network off, capability off) raise the app's own errors, which the Brain turns into a
    ``network_disabled`` or ``capability_disabled`` answer; a plugin lets them propagate.
    """

    @property
    def name(self) -> str:
        """The plugin's name (from its manifest)."""

    @property
    def log(self) -> logging.Logger:
        """The plugin's own logger (``fame.plugin.<name>``)."""

    @property
    def network_allowed(self) -> bool:
        """Whether the network switch is on."""

    def setting(self, path: str) -> Any:
        """A setting by dotted path, e.g. ``services.coingecko_url`` (a JSON value)."""

    def require_network(self, what: str = ...) -> None:
        """Raise the app's NetworkDisabled (``what`` names the refused thing) unless the network is on."""

    def require_capability(self, capability: str) -> None:
        """Raise the app's CapabilityDisabled unless an admin enabled ``capability``."""

    def http_client(self, *, base_url: str = ..., timeout: float | None = ...) -> httpx.AsyncClient:
        """An HTTP client for this plugin; raises NetworkDisabled when the network is off."""

    def progress(self, query_id: str, message: str, fraction: float | None = ...) -> None:
        """Report progress of a long answer to the window and CLI (``fraction`` in [0, 1])."""

    def list_plugins(self) -> list[JSONObject]:
        """Every plugin's manifest (``to_dict``) plus ``status`` and ``error``."""

    def status(self) -> JSONObject:
        """The app's status overview: version, network, docker, voice, plugins, uptime..."""

    async def generate_code(self, text: str, *, query_id: str | None = None) -> JSONObject:
        """Code for ``text`` with its tests run in the sandbox: a ``handle`` result.

        Raises:
            ServiceUnavailable: This app has no code generation.
        """

    async def design_architecture(self, text: str, *, query_id: str | None = None) -> JSONObject:
        """Architecture advice: ``{"markdown": str, "patterns": [{"id": str, "score": float}], "source": str}``.

        ``source`` is ``llm`` when the configured model designed the system (grounded in the
        knowledge base's matched patterns; ``llm_backend`` and ``llm_model`` then say which model)
        and ``knowledge_base`` otherwise. ``query_id`` tags the model's streamed tokens.

        Raises:
            ServiceUnavailable: This app has no architecture knowledge base.
        """

    async def run_in_sandbox(
        self,
        code: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the run's own limit, enforced by the sandbox
        query_id: str | None = None,
    ) -> JSONObject:
        """Run Python ``code`` in the sandbox (no network); the sandbox run report as a dict.

        Raises:
            ServiceUnavailable: This app has no sandbox.
        """

    async def run_evolution(self, request: JSONObject) -> JSONObject:
        """Run an evolution cycle for an ``evolution`` request: a ``handle`` result.

        Raises:
            ServiceUnavailable: This app has no evolution runner.
        """

    async def chat_with_model(
        self,
        messages: list[JSONObject],
        *,
        query_id: str | None = None,
        max_tokens: int | None = None,
        temperature: float = ...,
    ) -> JSONObject:
        """Answer a conversation with the active language model (local llama.cpp or an endpoint).

        ``messages`` are ``{"role": "system"|"user"|"assistant", "content": str}``, oldest first;
        a conversation longer than the model's context loses its oldest turns. The text streams to
        the window while it is written (for ``query_id``); cancelling the call stops the model.

        Returns:
            ``{"text", "reason" ("stop", "length" or "cancelled"), "backend", "model", "name",
            "prompt_tokens", "completion_tokens", "first_token_ms", "tokens_per_s"}``.

        Raises:
            ServiceUnavailable: No model is set up; the message says how to get one.
        """
