"""FAME's plugin API: what a plugin declares and what it may ask of the app.

A plugin is one Python file with:

- ``PLUGIN``: a module-level dict literal, its manifest (:class:`PluginManifest`), read from the
  file's syntax tree without importing it;
- ``handle(request: dict) -> dict`` (sync or async): the answer, at least ``{"response": str}``;
- optionally ``init(manager)``: called once after import with a :class:`PluginHost`.

This package imports neither the app nor Qt, so built-in plugins (``core/``), third-party plugins
and the app all depend on it and on nothing of each other. See ``docs/plugins.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fame_plugin_api.context import JSONObject, PluginHost, ServiceUnavailable
from fame_plugin_api.helpers import (
    HISTORY_PARAM,
    HostSlot,
    error_result,
    query_id,
    request_history,
    request_text,
)
from fame_plugin_api.intents import INTENTS
from fame_plugin_api.user_code import is_python_lang, user_code

if TYPE_CHECKING:
    from fame_plugin_api.manifest import (
        SCHEMA_VERSION,
        ManifestError,
        PluginManifest,
        parse_manifest,
        read_manifest,
        read_manifest_source,
        suggest_manifest,
    )

#: Names of :mod:`fame_plugin_api.manifest`, imported on first use: it loads ``ast`` and ``json``
#: (and its model, pydantic, when a manifest is not plainly valid), which a plugin's ``handle`` and
#: a command's argument parser (``fame ask --intent``) do not need.
_MANIFEST_NAMES = frozenset(
    {
        "SCHEMA_VERSION",
        "ManifestError",
        "PluginManifest",
        "parse_manifest",
        "read_manifest",
        "read_manifest_source",
        "suggest_manifest",
    }
)


def __getattr__(name: str) -> object:
    if name in _MANIFEST_NAMES:
        from fame_plugin_api import manifest  # see _MANIFEST_NAMES

        return getattr(manifest, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "HISTORY_PARAM",
    "INTENTS",
    "SCHEMA_VERSION",
    "HostSlot",
    "JSONObject",
    "ManifestError",
    "PluginHost",
    "PluginManifest",
    "ServiceUnavailable",
    "error_result",
    "is_python_lang",
    "parse_manifest",
    "query_id",
    "read_manifest",
    "read_manifest_source",
    "request_history",
    "request_text",
    "suggest_manifest",
    "user_code",
]
