"""Small helpers every plugin needs: keeping its context, reading a request, reporting a problem."""

from __future__ import annotations

from typing import Any

from fame_plugin_api.context import JSONObject, PluginHost


class HostSlot:
    """Holds the context handed to a plugin's ``init`` (one per plugin module).

    Example::

        _HOST = HostSlot("weather")

        def init(manager: PluginHost) -> None:
            _HOST.set(manager)
    """

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


def error_result(code: str, message: str, response: str | None = None, **data: Any) -> JSONObject:
    """A ``handle`` result that reports a problem a person can act on.

    Args:
        code: Machine-readable error code (``rate_limited``, ``unknown_coin``...).
        message: What happened and how to fix it.
        response: Text for the person (defaults to ``message``).
        **data: Extra JSON-safe details kept under ``data``.
    """
    result: JSONObject = {
        "response": response if response is not None else message,
        "error": {"code": code, "message": message},
    }
    if data:
        result["data"] = data
    return result


def request_text(request: JSONObject) -> str:
    """The query text of ``request`` (empty when missing or not a string)."""
    text = request.get("text", "")
    return text if isinstance(text, str) else ""


def query_id(request: JSONObject) -> str:
    """The query id of ``request`` (empty when missing), for :meth:`PluginHost.progress`."""
    value = request.get("id", "")
    return value if isinstance(value, str) else ""


HISTORY_PARAM = "history"
"""The request parameter that carries the conversation's earlier turns (the chat window sends it)."""


def request_history(request: JSONObject) -> list[JSONObject]:
    """The conversation's earlier turns sent with ``request`` (``params.history``), oldest first.

    Each is ``{"role": "user"|"assistant", "content": str}``; anything else is left out, so a
    plugin can pass them to :meth:`PluginHost.chat_with_model` as they are.
    """
    params = request.get("params")
    turns = params.get(HISTORY_PARAM) if isinstance(params, dict) else None
    if not isinstance(turns, list):
        return []
    return [
        {"role": t["role"], "content": t["content"]}
        for t in turns
        if isinstance(t, dict)
        and t.get("role") in ("user", "assistant")
        and isinstance(t.get("content"), str)
        and t["content"].strip()
    ]
