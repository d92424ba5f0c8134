"""The one declarative settings schema, its persistence and its admin rules.

Every setting is declared once here with its type, default, limits and description; the settings
dialog, the CLI and the API read these declarations. Fields marked ``admin`` can only be changed
with an unlocked admin session or a valid admin key.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from fame_desktop.orchestrator.errors import AdminRequired, InvalidSetting

log = logging.getLogger("fame.settings")


def admin_field(default: Any, description: str, **kwargs: Any) -> Any:
    """A field only an admin may change."""
    return Field(default, description=description, json_schema_extra={"admin": True}, **kwargs)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class NetworkSettings(_Section):
    allow_network: bool = admin_field(False, "Let plugins and sandbox runs reach the network.")


class SandboxSettings(_Section):
    image: str = admin_field("fame-sandbox:latest", "Docker image the sandbox runs.")
    base_image: str = admin_field("python:3.11-slim", "Base image the sandbox image is built on.")
    docker_host: str = admin_field("", "Docker engine URL (empty: DOCKER_HOST or the local socket).")
    timeout_seconds: float = admin_field(30.0, "Wall-clock limit of one run.", gt=0, le=3600)
    memory_limit: str = admin_field("512m", "Memory limit (swap is the same).", pattern=r"^\d+[kmg]?$")
    cpus: float = admin_field(0.5, "CPU cores one run may use.", gt=0, le=64)
    pids_limit: int = admin_field(64, "Processes and threads one run may have.", ge=8, le=4096)
    tmpfs_size: str = admin_field("64m", "Size of the writable /tmp.", pattern=r"^\d+[kmg]?$")
    output_limit_bytes: int = admin_field(1_000_000, "Bytes kept of stdout and of stderr.", ge=1024)
    pool_size: int = admin_field(2, "Pre-started warm containers.", ge=0, le=32)
    max_concurrency: int = admin_field(4, "Runs at the same time.", ge=1, le=64)
    allow_local_runner: bool = admin_field(
        False, "INSECURE developer option: run code on the host when Docker is missing."
    )


class CapabilitySettings(_Section):
    security_test: bool = admin_field(False, "Enable the dangerous security_test capability.")
    security_allowlist: list[str] = admin_field([], "Hosts security_test may probe.")


class PluginSettings(_Section):
    user_folder: str = Field("", description="Extra plugin folder (empty: <data dir>/plugins).")
    disabled: list[str] = Field([], description="Plugins turned off.")
    timeout_seconds: float = Field(20.0, description="Time a plugin may take to answer.", gt=0, le=600)


class ServiceSettings(_Section):
    coingecko_url: str = Field("https://api.coingecko.com/api/v3", description="CoinGecko API base URL.")
    searxng_url: str = Field("https://searx.be", description="SearXNG instance for web search.")
    http_timeout_seconds: float = Field(10.0, description="Timeout of outgoing HTTP calls.", gt=0, le=120)


class LlmSettings(_Section):
    base_url: str = Field("", description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1.")
    model: str = Field("", description="Model name at that endpoint.")
    timeout_seconds: float = Field(60.0, description="Timeout of one completion.", gt=0, le=600)
    max_repair_attempts: int = Field(3, description="Retries after failing tests.", ge=0, le=10)


class VoiceSettings(_Section):
    model_path: str = Field("", description="Vosk model folder (empty: first one found).")
    model_url: str = Field(
        "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
        description="Where the model manager downloads the default model from.",
    )
    model_sha256: str = Field(
        "", description="SHA-256 of the archive at model_url, checked after download (empty: size only)."
    )
    input_device: str = Field("default", description="Microphone (sounddevice name or index).")
    speak_answers: bool = Field(False, description="Speak answers aloud.")
    tts_voice: str = Field("", description="pyttsx3 voice id (empty: default).")
    tts_rate: int = Field(175, description="Words per minute.", ge=50, le=400)
    wake_word_enabled: bool = Field(False, description="Listen for the wake phrase hands-free.")
    wake_phrase: str = Field("hey fame", description="Wake phrase.", min_length=2, max_length=40)

    @field_validator("model_sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        value = value.strip().lower()
        if value and (len(value) != 64 or set(value) - set("0123456789abcdef")):
            raise PydanticCustomError(
                "sha256", "should be the archive's SHA-256 (64 hexadecimal digits) or empty"
            )
        return value


class UiSettings(_Section):
    theme: Literal["system", "light", "dark"] = Field("system", description="Colour theme.")


class ApiSettings(_Section):
    enabled: bool = admin_field(False, "Serve the REST API from the desktop app.")
    host: str = admin_field("127.0.0.1", "Address the API binds to.")
    port: int = admin_field(8000, "Port of the API.", ge=1, le=65535)
    cors_origins: list[str] = admin_field([], "Origins allowed by CORS.")
    rate_limit_per_minute: int = admin_field(120, "Requests per minute per key.", ge=1)
    max_body_bytes: int = admin_field(65536, "Largest request body.", ge=1024)


class Settings(_Section):
    """All settings, persisted as ``settings.json`` in the data dir."""

    network: NetworkSettings = Field(default_factory=NetworkSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    capabilities: CapabilitySettings = Field(default_factory=CapabilitySettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    services: ServiceSettings = Field(default_factory=ServiceSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)


def iter_fields(model: type[BaseModel] = Settings, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted path, FieldInfo)`` for every leaf setting."""
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from iter_fields(ann, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", info


def is_admin_field(path: str) -> bool:
    """Whether changing the setting at dotted ``path`` needs admin rights."""
    for p, info in iter_fields():
        if p == path:
            extra = info.json_schema_extra
            return isinstance(extra, dict) and bool(extra.get("admin"))
    raise InvalidSetting(path, "no such setting")


class SettingsStore:
    """Loads, validates, changes and saves :class:`Settings`.

    Args:
        path: The JSON file.
        on_change: Called with the changed dotted paths and values after a successful save.
    """

    def __init__(self, path: Path, on_change: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.path = path
        self._on_change = on_change
        self.load_problem: str | None = None
        self.settings = self._load()

    def _load(self) -> Settings:
        if not self.path.exists():
            return Settings()
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return Settings.model_validate(raw)
        except (OSError, ValueError, ValidationError) as exc:
            backup = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            shutil.copy2(self.path, backup)
            self.load_problem = (
                f"Settings file {self.path} was invalid ({_short(exc)}); it was backed up to "
                f"{backup} and defaults are used. Fix or delete the backup when done."
            )
            log.error(self.load_problem)
            return Settings()

    def get(self, path: str) -> Any:
        """Value of the setting at dotted ``path``."""
        obj: Any = self.settings
        for part in path.split("."):
            if not isinstance(obj, BaseModel) or part not in type(obj).model_fields:
                raise InvalidSetting(path, "no such setting")
            obj = getattr(obj, part)
        return obj

    def update(self, changes: Mapping[str, Any], *, admin: bool) -> dict[str, Any]:
        """Validate and apply ``changes`` (dotted path -> value) atomically, then save.

        Returns:
            The settings that really changed, with their new values.

        Raises:
            AdminRequired: A change touches an admin setting and ``admin`` is false.
            InvalidSetting: A path is unknown or a value fails validation (nothing is applied).
        """
        data = self.settings.model_dump()
        changed: dict[str, Any] = {}
        for path, value in changes.items():
            if is_admin_field(path) and not admin:
                raise AdminRequired(f"changing {path}")
            *parents, leaf = path.split(".")
            node = data
            for part in parents:
                node = node[part]
            if node.get(leaf) != value:
                node[leaf] = value
                changed[path] = value
        try:
            new = Settings.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InvalidSetting(where, err["msg"]) from exc
        if not changed:
            return {}
        self.settings = new
        self.save()
        if self._on_change:
            self._on_change(changed)
        return changed

    def save(self) -> None:
        """Write the settings atomically (temp file + rename), readable only by the user."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".settings-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.settings.model_dump(), fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
