"""The HTTP status of every error code the API can answer with: one table for all endpoints.

The body keeps its shape whatever the status: ``{"error": {"code", "message"}}`` for a refused
request, and the whole query response (whose ``error`` has the same two fields) for ``POST /query``.
Codes a plugin reports about what was asked (``division_by_zero``, ``unknown_coin``...) are 422: the
request was valid, what it asks cannot be done.
"""

from __future__ import annotations

from typing import Any

from fame_desktop.orchestrator.errors import FameError

STATUS_BY_CODE: dict[str, int] = {
    "invalid_request": 400,
    "api_key_required": 401,
    "admin_required": 403,
    "api_key_invalid": 403,
    "plugin_not_found": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "network_disabled": 409,
    "capability_disabled": 409,
    "request_too_large": 413,
    "rate_limited": 429,
    "admin_locked": 429,  # too many wrong keys from one client: retry after the lock-out
    "plugin_error": 500,
    "internal": 500,
    "internal_error": 500,
    "audit_error": 500,
    "recipe_error": 500,
    "llm_error": 502,
    "upstream_error": 502,
    "not_available": 503,
    "sandbox_unavailable": 503,
    "timeout": 504,
    # Codes the built-in and example plugins report that say more than "cannot do that".
    "not_allowed": 403,
    "unknown_coin": 404,
    "unknown_city": 404,
    "bad_reply": 502,
    "service_unavailable": 503,
    "upstream_timeout": 504,
}
# A code a plugin reported about the request itself.
DEFAULT_STATUS = 422


def http_status(code: str) -> int:
    """The status of an answer whose ``error.code`` is ``code``."""
    return STATUS_BY_CODE.get(code, DEFAULT_STATUS)


def status_of(exc: FameError) -> int:
    """The status of a domain error."""
    return http_status(exc.code)


def query_status(response: dict[str, Any]) -> int:
    """The status of a query response: 200, or that of its ``error``."""
    error = response.get("error")
    if not isinstance(error, dict):
        return 200
    return http_status(str(error.get("code", "")))
