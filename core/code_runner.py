"""code_runner: runs the user's own Python code (a fenced block, or "run this: …") in the sandbox.

The router sends a query with code here before its classifier is asked (see
``fame_plugin_api.user_code``), so this plugin declares no example phrases: it must not teach the
classifier anything. The run is an ordinary sandbox run (the same limits, live output in the
Sandbox pane, the same ``sandbox_run`` audit entry); the answer shows its outcome and output.
"""

from __future__ import annotations

import re
from typing import Any

from fame_plugin_api import HostSlot, PluginHost, ServiceUnavailable, error_result, query_id, request_text
from fame_plugin_api.user_code import user_code

PLUGIN = {
    "schema_version": 1,
    "name": "code_runner",
    "version": "1.0.0",
    "description": "Runs your own Python code (a fenced block, or 'run this: ...') in the sandbox.",
    "intents": {"run_code": []},
    "needs_network": False,
    # The sandbox enforces the run's own limit (sandbox.timeout_seconds, at most an hour).
    "timeout_seconds": 3700,
}

#: Output shown in the answer at most (the Sandbox pane has all of it).
SHOWN_CHARS = 4000
SHOWN_LINES = 60

_HOST = HostSlot("code_runner")
_BACKTICKS = re.compile(r"`+")


def init(manager: PluginHost) -> None:
    """Keep the plugin context (running code in the sandbox is its task)."""
    _HOST.set(manager)


async def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Run the query's code in the sandbox and answer with the outcome and the output."""
    host = _HOST.get()
    text = request_text(request)
    # A request that names the intent may carry bare code.
    code = user_code(text) or (text if text.strip() else None)
    if code is None:
        return error_result("invalid_request", "There is no code to run: put it in a ```python block.")
    qid = query_id(request)
    host.progress(qid, "Running your code in the sandbox (output in the Sandbox pane)")
    try:
        report = await host.run_in_sandbox(code, query_id=qid or None)
    except ServiceUnavailable as exc:
        return error_result("not_available", str(exc))
    if report.get("status") == "unavailable":
        detail = str(report.get("detail") or "The sandbox is unavailable.")
        return error_result("sandbox_unavailable", detail, report=report)
    return {"response": describe(report), "code": code, "data": {"report": report}}


def describe(report: dict[str, Any]) -> str:
    """The answer's Markdown: the outcome in one line, then what the program printed."""
    status = str(report.get("status", "?"))
    parts = [f"**{status}**", _exit_text(report), f"{float(report.get('duration_ms') or 0):.0f} ms"]
    if report.get("backend"):
        parts.append(str(report["backend"]))
    if report.get("backend") == "local":
        parts.append("⚠ INSECURE local runner")
    lines = ["Ran your code in the sandbox: " + " · ".join(p for p in parts if p) + "."]
    stdout, stderr = str(report.get("stdout") or ""), str(report.get("stderr") or "")
    for title, stream, truncated in (
        ("Output", stdout, report.get("stdout_truncated")),
        ("Errors", stderr, report.get("stderr_truncated")),
    ):
        if stream:
            lines.append(f"\n**{title}**\n\n{_block(stream, bool(truncated))}")
    if not stdout and not stderr:
        lines.append("\nIt printed nothing.")
    if report.get("detail") and status != "ok":
        lines.append(f"\n{report['detail']}")
    return "\n".join(lines)


def _block(text: str, truncated: bool) -> str:
    """``text`` in a fenced ``text`` block (never closed early by backticks in it), capped."""
    shown = text.splitlines()[:SHOWN_LINES]
    body = "\n".join(shown)[:SHOWN_CHARS]
    cut = truncated or body != text.rstrip("\n")
    longest = max((len(m) for m in _BACKTICKS.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    note = "\n\n(Shortened: the Sandbox pane shows all of it.)" if cut else ""
    return f"{fence}text\n{body}\n{fence}{note}"


def _exit_text(report: dict[str, Any]) -> str:
    code = report.get("exit_code")
    if code is not None:
        return f"exit code {code}"
    if report.get("timed_out"):
        return "timed out"
    if report.get("oom_killed"):
        return "out of memory"
    if report.get("status") == "killed":
        return "stopped"
    return ""
