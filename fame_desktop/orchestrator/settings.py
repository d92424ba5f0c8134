"""The one declarative settings schema, its persistence and its admin rules.

Every setting is declared once here with its type, default, limits and description; the settings
dialog, the CLI and the API read these declarations. Fields marked ``admin`` can only be changed
with an unlocked admin session or a valid admin key. The sections are light objects
(:mod:`~fame_desktop.orchestrator.settings_schema`): plainly valid values load without pydantic,
anything else is judged, and worded, by the pydantic model derived from these declarations.

The file fails safe. One that cannot be used (not a regular file, larger than 1 MiB, not UTF-8,
not JSON, nested too deep, failing the schema) gives defaults and one message; a bad regular file
is moved aside to ``settings.json.corrupt`` (one backup, replacing the previous one, never a copy),
so the next start is clean. Another FAME process on the same data dir may write the file: a running
process notices (:meth:`SettingsStore.reload_if_changed`, polled by
:mod:`fame_desktop.orchestrator.settings_watch`) and applies the change without auditing it again
(the writer did). Admin settings carry an HMAC (``_admin_signature``) under a key kept
in the secret store (the OS keyring, else ``secrets/`` 0600), not in the file: an admin value
changed by hand is not applied, it is reported on every start until an admin approves it
(:meth:`SettingsStore.approve_pending`) or it is undone.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from fame_desktop.orchestrator.errors import AdminRequired, FameError, InvalidSetting
from fame_desktop.orchestrator.secrets import SecretStore
from fame_desktop.orchestrator.settings_schema import (
    InvalidSettings,
    Section,
    SettingValueError,
    admin_field,
    leaves,
    pydantic_fields,
    setting,
    validates,
)

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

log = logging.getLogger("fame.settings")

MAX_SETTINGS_BYTES = 1 << 20
SIGNATURE_FIELD = "_admin_signature"
MAC_KEY_NAME = "settings.admin_mac_key"
_CREDENTIALS = "settings.url_credentials:"


class NetworkSettings(Section):
    allow_network: bool = admin_field(False, "Let plugins and sandbox runs reach the network.")


class SandboxSettings(Section):
    backend: Literal["docker", "swarm"] = admin_field(
        "docker",
        "Where runs go: docker (one engine, warm pool) or swarm (single-use jobs on a Docker Swarm "
        "cluster's nodes).",
    )
    swarm_manager: str = admin_field(
        "",
        "Swarm manager engine URL for the swarm backend (empty: docker_host, DOCKER_HOST or the local socket).",
    )
    per_node_concurrency: int = admin_field(
        2,
        "Swarm backend: jobs one node runs at once. Runs are spread over the ready nodes; a run whose "
        "node is lost runs again on another.",
        ge=1,
        le=64,
    )
    swarm_node_engines: list[str] = admin_field(
        [],
        "Swarm backend without a registry: engine URLs of the other nodes (unix://, tcp://, ssh://) "
        "that `fame sandbox prepare` loads the sandbox image onto.",
    )
    registry: str = admin_field(
        "",
        "Swarm backend: a registry every node can pull from (host[:port]); `fame sandbox prepare` "
        "pushes the sandbox image there and jobs name its digest.",
    )
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


class CapabilitySettings(Section):
    security_test: bool = admin_field(False, "Enable the dangerous security_test capability.")
    security_allowlist: list[str] = admin_field([], "Hosts security_test may probe.")


class PluginSettings(Section):
    user_folder: str = admin_field("", "Extra plugin folder (empty: <data dir>/plugins).")
    disabled: list[str] = setting([], description="Plugins turned off.")
    timeout_seconds: float = setting(20.0, description="Time a plugin may take to answer.", gt=0, le=600)


class ServiceSettings(Section):
    coingecko_url: str = setting("https://api.coingecko.com/api/v3", description="CoinGecko API base URL.")
    searxng_url: str = setting("https://searx.be", description="SearXNG instance for web search.")
    http_timeout_seconds: float = setting(10.0, description="Timeout of outgoing HTTP calls.", gt=0, le=120)


class LlmSettings(Section):
    backend: Literal["auto", "local", "openai"] = setting(
        "auto",
        description="auto: the local model when one is installed, else the endpoint; local; openai.",
    )
    local_model: str = setting(
        "", description="Active local model: a .gguf file name in the data dir's llm_models folder."
    )
    threads: int = setting(
        0, description="CPU threads for the local model (0: all cores but one).", ge=0, le=256
    )
    context_size: int = setting(4096, description="Local model context, in tokens.", ge=256, le=131072)
    gpu_layers: int = setting(
        0, description="Layers offloaded to a GPU (-1: all; 0: CPU only).", ge=-1, le=1000
    )
    base_url: str = setting("", description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1.")
    model: str = setting("", description="Model name at that endpoint.")
    timeout_seconds: float = setting(60.0, description="Timeout of one completion.", gt=0, le=600)
    max_repair_attempts: int = setting(3, description="Retries after failing tests.", ge=0, le=10)


class VoiceSettings(Section):
    language: str = setting(
        "",
        description="Language you speak (BCP 47: en-US, ko, de; empty: the system's). Only a model "
        "for it is used.",
        max_length=16,
    )
    model_path: str = setting("", description="Vosk model folder (empty: the best one for the language).")
    model_url: str = setting(
        "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
        description="Where the model manager downloads the default model from.",
    )
    mirror_url: str = setting(
        "",
        description="Download the catalogue's voice models from this mirror (<mirror>/<model>.zip) "
        "instead of alphacephei.com (empty: the catalogue's URLs).",
    )
    model_sha256: str = setting(
        "", description="SHA-256 of the archive at model_url, checked after download (empty: size only)."
    )
    input_device: str = setting("default", description="Microphone (sounddevice name or index).")
    speak_answers: bool = setting(False, description="Speak answers aloud.")
    tts_voice: str = setting("", description="pyttsx3 voice id (empty: default).")
    tts_rate: int = setting(175, description="Words per minute.", ge=50, le=400)
    wake_word_enabled: bool = setting(False, description="Listen for the wake phrase hands-free.")
    wake_phrase: str = setting(
        "", description="Wake phrase in any language (empty: the voice language's own).", max_length=40
    )
    wake_phrases: dict[str, str] = setting(
        {}, description="Wake phrase per language (ko=헤이 페임); unset ones use FAME's default."
    )

    @validates("language")
    def _language_tag(value: str) -> str:
        value = value.strip().replace("_", "-")
        if value and not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z]{2})?", value):
            raise SettingValueError("language", "should be a language tag such as en-US, ko or de")
        if not value:
            return value
        lang, _, region = value.partition("-")
        return f"{lang.lower()}-{region.upper()}" if region else lang.lower()

    @validates("wake_phrase")
    def _phrase(value: str) -> str:
        value = " ".join(value.split())
        if len(value) == 1:
            raise SettingValueError("wake_phrase", "should be empty or at least 2 characters")
        return value

    @validates("model_sha256")
    def _hex_digest(value: str) -> str:
        value = value.strip().lower()
        if value and (len(value) != 64 or set(value) - set("0123456789abcdef")):
            raise SettingValueError(
                "sha256", "should be the archive's SHA-256 (64 hexadecimal digits) or empty"
            )
        return value


class UiSettings(Section):
    theme: Literal["system", "light", "dark"] = setting("system", description="Colour theme.")


class ApiSettings(Section):
    enabled: bool = admin_field(False, "Serve the REST API from the desktop app.")
    host: str = admin_field("127.0.0.1", "Address the API binds to.")
    port: int = admin_field(8000, "Port of the API.", ge=1, le=65535)
    cors_origins: list[str] = admin_field([], "Origins allowed by CORS.")
    rate_limit_per_minute: int = admin_field(120, "Requests per minute per key.", ge=1)
    max_body_bytes: int = admin_field(65536, "Largest request body.", ge=1024)


class Settings(Section):
    """All settings, persisted as ``settings.json`` in the data dir."""

    network: NetworkSettings = setting(default_factory=NetworkSettings)
    sandbox: SandboxSettings = setting(default_factory=SandboxSettings)
    capabilities: CapabilitySettings = setting(default_factory=CapabilitySettings)
    plugins: PluginSettings = setting(default_factory=PluginSettings)
    services: ServiceSettings = setting(default_factory=ServiceSettings)
    llm: LlmSettings = setting(default_factory=LlmSettings)
    voice: VoiceSettings = setting(default_factory=VoiceSettings)
    ui: UiSettings = setting(default_factory=UiSettings)
    api: ApiSettings = setting(default_factory=ApiSettings)


def iter_fields(model: type[Section] = Settings, prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """Yield ``(dotted path, FieldInfo)`` for every leaf setting (pydantic's, for the settings
    dialog: it loads pydantic)."""
    yield from pydantic_fields(model, prefix)


def is_admin_field(path: str) -> bool:
    """Whether changing the setting at dotted ``path`` needs admin rights."""
    for p, spec in leaves(Settings):
        if p == path:
            return spec.admin
    raise InvalidSetting(path, "no such setting")


def admin_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """The admin settings of a settings dict, by dotted path."""
    out: dict[str, Any] = {}
    for path, spec in leaves(Settings):
        if spec.admin:
            node: Any = data
            for part in path.split("."):
                node = node.get(part) if isinstance(node, Mapping) else None
            out[path] = node
    return out


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


class SettingsStore:
    """Loads, validates, changes and saves :class:`Settings`.

    Args:
        path: The JSON file.
        on_change: Called with the changed dotted paths and values after a successful save.
    """

    def __init__(
        self,
        path: Path,
        on_change: Callable[[dict[str, Any]], None] | None = None,
        *,
        secrets_dir: Path | None = None,
    ) -> None:
        self.path = path
        self._on_change = on_change
        self._secrets_dir = secrets_dir or path.parent / "secrets"
        self.load_problem: str | None = None
        # Admin values found in the file without a valid signature: shown, not applied.
        self.unapproved: dict[str, Any] = {}
        # The file as last read or written here (inode, size, mtime): a different one was written
        # by another process. Reloads and updates hold the lock (the watcher may run on a thread).
        self._file_id: tuple[int, int, int] | None = None
        self._reloading = False
        self._lock = threading.RLock()
        self._file_lock_depth = 0
        self.settings = self._load()

    # --- loading ---------------------------------------------------------------------------------

    def _load(self) -> Settings:
        raw = self._read_raw()
        if raw is None:
            return Settings()
        signature = raw.pop(SIGNATURE_FIELD, None)
        try:
            settings = Settings.model_validate(raw)
        except InvalidSettings as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])[:100]
            self._set_aside(f"{where}: {err['msg'][:100]}")
            return Settings()
        except RecursionError:
            self._set_aside("nested too deeply")
            return Settings()
        return self._apply_signature(settings, signature)

    def _read_raw(self) -> dict[str, Any] | None:
        """The file's JSON object, or None (defaults) after reporting why it cannot be used."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._report(f"Settings file {self.path} cannot be read ({exc.strerror}); defaults are used.")
            return None
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            self._report(
                f"Settings file {self.path} is {kind}; defaults are used and changes cannot be saved. "
                "Move it away so FAME can write its settings there."
            )
            return None
        if st.st_size > MAX_SETTINGS_BYTES:
            self._set_aside(
                f"{st.st_size} bytes, more than the {MAX_SETTINGS_BYTES} a settings file may have"
            )
            return None
        try:
            with open(self.path, "rb") as fh:
                self._file_id = _file_id(os.fstat(fh.fileno()))
                text = fh.read(MAX_SETTINGS_BYTES + 1).decode("utf-8")
            raw = json.loads(text)
        except OSError as exc:
            self._report(f"Settings file {self.path} cannot be read ({exc.strerror}); defaults are used.")
            return None
        except RecursionError:
            self._set_aside("nested too deeply")
            return None
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            self._set_aside(_short(exc))
            return None
        if not isinstance(raw, dict):
            self._set_aside(f"a JSON {type(raw).__name__}, not an object")
            return None
        return raw

    def _report(self, problem: str) -> None:
        self.load_problem = problem
        log.error(problem)

    def _set_aside(self, why: str) -> None:
        """Move the unusable file to one ``.corrupt`` backup (a rename: no copy, no growth)."""
        if self._reloading:
            # Another process's file, maybe half-written by an editor: keep the settings in use
            # and look again at the next change rather than moving the user's file away.
            self._report(f"Settings file {self.path} was changed and is invalid ({why}); not applied.")
            return
        backup = self.path.with_name(f"{self.path.name}.corrupt")
        try:
            os.replace(self.path, backup)
        except OSError as exc:
            self._report(
                f"Settings file {self.path} is invalid ({why}) and could not be moved aside "
                f"({exc.strerror}); defaults are used."
            )
            return
        self._report(
            f"Settings file {self.path} was invalid ({why}); it was moved to {backup} and defaults are "
            "used. Fix or delete the backup when done."
        )

    def _apply_signature(self, settings: Settings, signature: object) -> Settings:
        """``settings`` with admin values replaced by the last signed ones where they differ."""
        found = admin_values(settings.model_dump(mode="json"))
        defaults = admin_values(Settings().model_dump(mode="json"))
        if found == defaults and signature is None:
            return settings
        approved = dict(defaults)
        signed = self._verified(signature)
        if signed is not None:
            approved.update({k: v for k, v in signed.items() if k in defaults})
        # A value back at its default is always accepted: the defaults are the safe settings.
        pending = {k: v for k, v in found.items() if v != approved[k] and v != defaults[k]}
        if not pending:
            return settings
        data = settings.model_dump(mode="json")
        for path in pending:
            _set_path(data, path, approved[path])
        try:
            effective = Settings.model_validate(data)
        except InvalidSettings:  # a signed value the schema no longer accepts
            for path in pending:
                _set_path(data, path, defaults[path])
            effective = Settings.model_validate(data)
        self.unapproved = pending
        names = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(pending.items()))
        why = (
            "they differ from the values an admin signed"
            if signed is not None
            else "no valid admin signature covers them"
        )
        self._report(
            f"Admin settings in {self.path} were changed outside FAME ({why}) and are NOT applied: "
            f"{names[:400]}. An admin can apply them with `fame admin approve-settings --admin-key KEY` "
            "(`fame admin settings` lists them); otherwise undo the edit."
        )
        return effective

    # --- the admin signature ---------------------------------------------------------------------

    def _secret_store(self) -> SecretStore:
        return SecretStore(self._secrets_dir)

    def _mac_key(self, *, create: bool) -> bytes | None:
        store = self._secret_store()
        value = store.get(MAC_KEY_NAME)
        if value is None and create:
            value = secrets.token_hex(32)
            store.set(MAC_KEY_NAME, value)
        return bytes.fromhex(value) if value else None

    @staticmethod
    def _mac(key: bytes, values: Mapping[str, Any]) -> str:
        body = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
        return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()

    def _verified(self, signature: object) -> dict[str, Any] | None:
        if not isinstance(signature, dict):
            return None
        values, mac = signature.get("values"), signature.get("mac")
        if not isinstance(values, dict) or not isinstance(mac, str):
            return None
        try:
            key = self._mac_key(create=False)
        except (OSError, ValueError):
            return None
        if key is None or not hmac.compare_digest(self._mac(key, values), mac):
            return None
        return values

    def approve_pending(self) -> dict[str, Any]:
        """Apply the admin values found unsigned in the file (the caller checked admin rights).

        Returns:
            The settings that changed.
        """
        pending, self.unapproved = self.unapproved, {}
        if not pending:
            return {}
        try:
            return self.update(pending, admin=True)
        except InvalidSetting:
            self.unapproved = pending
            raise

    # --- changes made by other processes ---------------------------------------------------------

    def file_changed(self) -> bool:
        """Whether the file on disk is not the one this store last read or wrote (one ``stat``)."""
        try:
            current: tuple[int, int, int] | None = _file_id(os.stat(self.path))
        except OSError:
            current = None
        return current != self._file_id

    def reload_if_changed(self) -> dict[str, Any]:
        """Re-read the file if another process changed it, and apply what changed.

        The admin signature is checked as at start: an admin value edited by hand without a valid
        signature is not applied (it is reported, and listed in :attr:`unapproved`). A file that
        cannot be used keeps the settings in use. ``on_change`` is called with what changed; the
        change is not audited here (the process that made it audited it).

        Returns:
            The settings that changed (dotted path -> new value).
        """
        with self._lock:
            if not self.file_changed():
                return {}
            before = self.settings.model_dump()
            self._reloading = True
            self.unapproved = {}
            try:
                raw = self._read_raw()
                if raw is None:
                    if self.path.exists():
                        # Unusable (reported): the settings in use stay; look again when it changes.
                        with contextlib.suppress(OSError):
                            self._file_id = _file_id(os.stat(self.path))
                        return {}
                    self._file_id = None
                    after = Settings()
                else:
                    after = self._validated(raw, keep=self.settings)
            finally:
                self._reloading = False
            changed = _diff(before, after.model_dump())
            self.settings = after
        if changed:
            log.info("settings changed by another process: %s", ", ".join(sorted(changed)))
            if self._on_change:
                self._on_change(changed)
        return changed

    def _validated(self, raw: dict[str, Any], *, keep: Settings) -> Settings:
        """``raw`` (a reloaded file) as settings with the signature applied; ``keep`` if invalid."""
        signature = raw.pop(SIGNATURE_FIELD, None)
        try:
            settings = Settings.model_validate(raw)
        except (InvalidSettings, RecursionError) as exc:
            self._set_aside(_short(exc))
            return keep
        return self._apply_signature(settings, signature)

    def get(self, path: str) -> Any:
        """Value of the setting at dotted ``path``."""
        obj: Any = self.settings
        for part in path.split("."):
            if not isinstance(obj, Section) or part not in type(obj).model_fields:
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
        with self._lock, self._file_locked():
            # Start from what another process may have just written, so its change is not lost.
            self.reload_if_changed()
            return self._update(changes, admin=admin)

    @contextlib.contextmanager
    def _file_locked(self) -> Iterator[None]:
        """Hold ``settings.json.lock`` (other processes' updates wait) around read, change, write.

        Only the outermost update takes it: a subscriber that updates again while the lock is
        held (same thread, under ``_lock``) must not wait for itself.
        """
        if self._file_lock_depth:
            self._file_lock_depth += 1
            try:
                yield
            finally:
                self._file_lock_depth -= 1
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path.with_name(self.path.name + ".lock"), "a")  # noqa: SIM115
        except OSError:  # the save reports what is wrong with the folder
            yield
            return
        with fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            self._file_lock_depth = 1
            try:
                yield
            finally:
                self._file_lock_depth = 0
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _update(self, changes: Mapping[str, Any], *, admin: bool) -> dict[str, Any]:
        data = self.settings.model_dump()
        changed: dict[str, Any] = {}
        for path, value in changes.items():
            if is_admin_field(path) and not admin:
                raise AdminRequired(f"changing {path}")
            *parents, leaf = path.split(".")
            node = data
            for part in parents:
                node = node[part]
            if isinstance(value, str) and _is_url_field(leaf):
                value = self._keep_credentials_apart(path, value)
            if node.get(leaf) != value:
                node[leaf] = value
                changed[path] = value
        try:
            new = Settings.model_validate(data)
        except InvalidSettings as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InvalidSetting(where, err["msg"]) from exc
        for path in changes:
            self.unapproved.pop(path, None)
        if not changed:
            return {}
        self.settings = new
        self.save()
        if self._on_change:
            self._on_change(changed)
        return changed

    # --- credentials in URLs go to the secret store, never into settings.json ---------------------

    def _keep_credentials_apart(self, path: str, url: str) -> str:
        """``url`` without ``user:password@``; the credentials are kept in the secret store."""
        parts = urlsplit(url.strip())
        if parts.password is None and not (parts.username and len(parts.username) >= 16):
            return url  # no password (a bare user name stays; a long one is a token: kept apart)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host + (f":{parts.port}" if parts.port else "")
        self._secret_store().set(_CREDENTIALS + path, parts.netloc.rsplit("@", 1)[0])
        log.info("credentials of %s moved to the secret store", path)
        return urlunsplit(parts._replace(netloc=netloc))

    def url_with_credentials(self, path: str) -> str:
        """The URL setting at ``path`` with its credentials from the secret store put back."""
        url = str(self.get(path))
        if not url:
            return url
        userinfo = self._secret_store().get(_CREDENTIALS + path)
        if not userinfo:
            return url
        parts = urlsplit(url)
        return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))

    def save(self) -> None:
        """Write the settings atomically (temp file + rename), readable only by the user, signed.

        Raises:
            FameError: The file cannot be written (for example a directory is in its place).
        """
        data: dict[str, Any] = self.settings.model_dump(mode="json")
        admin = admin_values(data)
        key = (
            self._mac_key(create=True) if admin != admin_values(Settings().model_dump(mode="json")) else None
        )
        if key is not None:
            data[SIGNATURE_FIELD] = {"values": admin, "mac": self._mac(key, admin)}
        for path, value in self.unapproved.items():
            _set_path(data, path, value)  # still shown in the file, still not applied
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".settings-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
                written = _file_id(os.fstat(fh.fileno()))  # the rename keeps inode, size and mtime
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
            self._file_id = written
        except OSError as exc:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise FameError(
                f"The settings could not be saved to {self.path} ({exc.strerror or exc}).",
                "Make sure it is a writable file (move away a directory of that name).",
            ) from exc


def _file_id(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted path -> new value of every leaf setting that differs."""
    changed: dict[str, Any] = {}
    for path, _spec in leaves(Settings):
        old: Any = before
        new: Any = after
        for part in path.split("."):
            old, new = old[part], new[part]
        if old != new:
            changed[path] = new
    return changed


def _is_url_field(name: str) -> bool:
    return name.endswith("_url") or name in ("docker_host", "swarm_manager")


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
