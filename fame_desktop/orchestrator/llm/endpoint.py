"""The OpenAI-compatible endpoint: presets, the API key in the secret store, a connection test.

Settings → LLM and ``fame llm`` both use this module. The key lives only in the
:class:`~fame_desktop.orchestrator.secrets.SecretStore` (keyring or a 0600 file): never in
``settings.json``, the logs or the audit, which records only that it was set or removed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fame_desktop.orchestrator.audit_kinds import AuditKind
from fame_desktop.orchestrator.errors import FameError, InvalidRequest, NetworkDisabled
from fame_desktop.orchestrator.llm.base import ChatMessage
from fame_desktop.orchestrator.llm.provider import ChatProvider, LlmConfig, is_loopback
from fame_desktop.orchestrator.secrets import LLM_API_KEY, SecretStore
from fame_desktop.orchestrator.settings import SettingsStore

log = logging.getLogger("fame.llm")

#: ``append(kind, data, actor=..., summary=...)`` of the audit log.
AuditAppend = Callable[..., object]


@dataclass(frozen=True)
class EndpointPreset:
    """A well-known server and where it listens by default.

    Attributes:
        id: Short name (``ollama``), as ``fame llm preset`` takes it.
        label: Shown in Settings.
        base_url: Its ``/v1`` base ("" for ``custom``).
        needs_key: Whether it refuses requests without an API key.
        hint: How to get it running or which model names it takes.
    """

    id: str
    label: str
    base_url: str
    needs_key: bool = False
    hint: str = ""


PRESETS: tuple[EndpointPreset, ...] = (
    EndpointPreset(
        "ollama", "Ollama", "http://127.0.0.1:11434/v1", hint="`ollama serve`; model e.g. llama3.1:8b"
    ),
    EndpointPreset(
        "lmstudio",
        "LM Studio",
        "http://127.0.0.1:1234/v1",
        hint="Start the server in LM Studio's Developer tab",
    ),
    EndpointPreset(
        "llamacpp",
        "llama.cpp server",
        "http://127.0.0.1:8080/v1",
        hint="`llama-server -m model.gguf --port 8080`",
    ),
    EndpointPreset("vllm", "vLLM", "http://127.0.0.1:8000/v1", hint="`vllm serve MODEL` (port 8000)"),
    EndpointPreset(
        "openai",
        "OpenAI",
        "https://api.openai.com/v1",
        needs_key=True,
        hint="Needs an API key and the network on",
    ),
    EndpointPreset("custom", "Custom", "", hint="Any OpenAI-compatible /v1 endpoint"),
)


def preset(preset_id: str) -> EndpointPreset:
    """The preset called ``preset_id``.

    Raises:
        InvalidRequest: No such preset.
    """
    for item in PRESETS:
        if item.id == preset_id:
            return item
    names = ", ".join(p.id for p in PRESETS)
    raise InvalidRequest(f"There is no endpoint preset '{preset_id}'.", f"Use one of: {names}.")


def preset_for(base_url: str) -> EndpointPreset:
    """The preset whose base URL is ``base_url`` (``custom`` when none is)."""
    wanted = base_url.strip().rstrip("/")
    for item in PRESETS:
        if item.base_url and item.base_url == wanted:
            return item
    return PRESETS[-1]


def set_api_key(
    secrets: SecretStore, value: str, *, audit: AuditAppend | None = None, actor: str = "unknown"
) -> str:
    """Store (or, with an empty ``value``, remove) the endpoint's API key; audited without it.

    Returns:
        Where it went (``keyring:...`` or ``file:...``), for the confirmation message.
    """
    key = value.strip()
    secrets.set(LLM_API_KEY, key)
    state = "set" if key else "removed"
    log.info("LLM API key %s (%s)", state, secrets.backend)
    if audit is not None:
        audit(
            AuditKind.SETTINGS_CHANGED,
            {"changes": {LLM_API_KEY: state}, "stored_in": secrets.backend.split(":", 1)[0]},
            actor=actor,
            summary=f"settings: LLM API key {state}",
        )
    return secrets.backend


def has_api_key(secrets: SecretStore) -> bool:
    """Whether an API key is stored."""
    return bool(secrets.get(LLM_API_KEY))


@dataclass
class ConnectionReport:
    """What ``Test connection`` found.

    Attributes:
        ok: The endpoint answered a one-token completion (or, with no model set, listed models).
        base_url: The endpoint tested.
        model: The model the app would use: the configured one, else the first the server lists.
        latency_ms: Round trip of ``GET /models`` (None when it failed).
        completion_ms: Time of a one-token completion (None when not tried or it failed).
        models: Model names the endpoint lists (at most 50).
        message: One line for people.
        fix: What to do when it did not work ("" when it did).
    """

    ok: bool
    base_url: str
    model: str = ""
    latency_ms: float | None = None
    completion_ms: float | None = None
    models: list[str] = field(default_factory=list)
    message: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``fame llm test --json``)."""
        return asdict(self)


def _model_ids(body: object) -> list[str]:
    """Model names of a ``GET /models`` body (OpenAI ``data`` list, or Ollama's ``models``)."""
    if not isinstance(body, Mapping):
        return []
    items = body.get("data")
    if not isinstance(items, list):
        items = body.get("models")
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        name = item.get("id") or item.get("name") if isinstance(item, Mapping) else item
        if isinstance(name, str) and name:
            out.append(name)
    return out[:50]


async def check_connection(
    config: LlmConfig, *, allow_network: bool, complete: bool = True
) -> ConnectionReport:
    """Reach the endpoint: ``GET /models`` (latency, model names), then a one-token completion.

    Never raises for a failing endpoint: the report says what failed and the fix.

    Args:
        config: Base URL, model (may be empty: the first listed model is reported), key, timeout.
        allow_network: Whether the network is on (remote endpoints are refused when off).
        complete: Also ask for a one-token completion (proves the model loads and answers).
    """
    base = config.base_url.strip().rstrip("/")
    report = ConnectionReport(ok=False, base_url=base)
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        report.message = f"The base URL {base!r} is not an http(s) URL."
        report.fix = "Pick a preset or enter something like http://127.0.0.1:11434/v1."
        return report
    if not allow_network and not is_loopback(parts.hostname):
        exc = NetworkDisabled(f"The LLM endpoint {parts.hostname}")
        report.message, report.fix = exc.message, exc.fix
        return report
    import httpx  # paid when a test runs, not at start-up

    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    timeout = httpx.Timeout(min(config.timeout_seconds, 15.0))
    listed_error = ""
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            response = await client.get(base + "/models", headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code in (401, 403):
            report.message = f"{parts.hostname} refused the API key (HTTP {response.status_code})."
            report.fix = "Enter a valid API key for this endpoint and test again."
            return report
        if response.status_code < 400:
            report.latency_ms = round(elapsed, 1)
            try:
                report.models = _model_ids(response.json())
            except ValueError:
                listed_error = "its /models answer is not JSON"
        else:
            listed_error = f"GET /models answered HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        report.message = f"Could not reach {base} ({type(exc).__name__}: {exc})."
        report.fix = "Start the model server (for example `ollama serve`) or check the base URL and port."
        return report
    report.model = config.model.strip() or (report.models[0] if report.models else "")
    if not report.model:
        report.message = (
            f"{parts.hostname} answered but lists no model"
            + (f" ({listed_error})" if listed_error else "")
            + "."
        )
        report.fix = (
            "Enter the model name the server serves (e.g. `ollama pull llama3.1:8b`, then llama3.1:8b)."
        )
        return report
    if not complete:
        report.ok = report.latency_ms is not None
    else:
        provider = ChatProvider(
            LlmConfig(base, report.model, config.api_key, timeout_seconds=config.timeout_seconds),
            allow_network=lambda: allow_network,
        )
        started = time.perf_counter()
        try:
            await provider.complete([ChatMessage("user", "Say OK.")], max_tokens=1, temperature=0.0)
        except FameError as exc:
            report.message = f"The model '{report.model}' did not answer: {exc.message}"
            report.fix = exc.fix
            return report
        report.completion_ms = round((time.perf_counter() - started) * 1000, 1)
        report.ok = True
    latency = f"{report.latency_ms:.0f} ms" if report.latency_ms is not None else "n/a"
    answer = (
        f", one-token answer in {report.completion_ms:.0f} ms" if report.completion_ms is not None else ""
    )
    missing = (
        f" (the server does not list '{report.model}')"
        if report.models and config.model.strip() and report.model not in report.models
        else ""
    )
    report.message = f"Connected to {report.model} at {parts.hostname}: {latency}{answer}{missing}."
    return report


def endpoint_config(settings: SettingsStore, secrets: SecretStore, **override: str) -> LlmConfig:
    """The endpoint the settings describe (``base_url``/``model``/``api_key`` may be overridden)."""
    llm = settings.settings.llm
    base = override.get("base_url") or settings.url_with_credentials("llm.base_url").strip()
    return LlmConfig(
        base_url=base,
        model=override.get("model", llm.model).strip(),
        api_key=override.get("api_key") or secrets.get(LLM_API_KEY) or "",
        timeout_seconds=float(llm.timeout_seconds),
    )
