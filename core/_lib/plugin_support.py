"""What every built-in plugin shares: the shape of the context it is given and result helpers.

Plugins may not import ``fame_desktop`` (core sits below the orchestrator), so the context is
described here structurally: any object with these members works, the orchestrator's
``PluginContext`` included.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import httpx


class PluginHost(Protocol):
    """The members of the orchestrator's ``PluginContext`` the built-in plugins use."""

    name: str
    evolution: Any

    @property
    def log(self) -> logging.Logger:
        """The plugin's logger."""

    @property
    def network_allowed(self) -> bool:
        """Whether the network is on."""

    def setting(self, path: str) -> Any:
        """A setting by dotted path."""

    def require_network(self, what: str = ...) -> None:
        """Raise the orchestrator's NetworkDisabled unless the network is on."""

    def require_capability(self, capability: str) -> None:
        """Raise the orchestrator's CapabilityDisabled unless ``capability`` is enabled."""

    def http_client(self, *, base_url: str = ..., timeout: float | None = ...) -> httpx.AsyncClient:
        """An HTTP client; raises NetworkDisabled when the network is off."""

    def list_plugins(self) -> list[dict[str, Any]]:
        """Every plugin's manifest plus ``status`` and ``error``."""

    def status(self) -> dict[str, Any]:
        """The app's status overview."""

    def progress(self, query_id: str, message: str, fraction: float | None = ...) -> None:
        """Report progress of a long answer."""


class HostSlot:
    """Holds the context handed to a plugin's ``init`` (one per loaded plugin module)."""

    def __init__(self, plugin: str) -> None:
        self._plugin = plugin
        self._host: PluginHost | None = None

    def set(self, host: PluginHost) -> None:
        """Keep ``host`` for later calls."""
        self._host = host

    def get(self) -> PluginHost:
        """The context given to ``init``.

        Raises:
            RuntimeError: ``init`` was never called (a loader bug, reported as a plugin error).
        """
        if self._host is None:
            raise RuntimeError(f"plugin {self._plugin} was called before init(manager)")
        return self._host


def error_result(code: str, message: str, response: str | None = None, **data: Any) -> dict[str, Any]:
    """A plugin result that reports a problem a person can act on.

    Args:
        code: Machine-readable error code (``rate_limited``, ``unknown_coin``...).
        message: What happened and how to fix it.
        response: Text for the person (defaults to ``message``).
        **data: Extra JSON-safe details kept under ``data``.
    """
    result: dict[str, Any] = {
        "response": response if response is not None else message,
        "error": {"code": code, "message": message},
    }
    if data:
        result["data"] = data
    return result


def request_text(request: dict[str, Any]) -> str:
    """The query text of ``request`` (empty when missing or not a string)."""
    text = request.get("text", "")
    return text if isinstance(text, str) else ""
