"""The first-run steps, shared by the window's assistant and ``fame setup``: what is set up, and how.

Each step reuses the domain: the first admin key is :meth:`Safety.create_first_key` (the same as
``fame admin init``), the Docker check is the sandbox engine's own probe and fix, voice models come from
the voice catalogue and downloader. Nothing here imports Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fame_desktop.orchestrator.paths import DataPaths
from fame_desktop.orchestrator.safety import Safety
from fame_desktop.orchestrator.sandbox.engine import Engine
from fame_desktop.orchestrator.secrets import ADMIN_KEY, keep_in_keyring, keyring_backend
from fame_desktop.orchestrator.settings import SettingsStore

# Files whose presence means FAME ran on this data dir before.
_STATE_FILES = ("settings.json", "admin_keys.json", "audit.sqlite3", "conversations.sqlite3")


def is_fresh(data_dir: Path) -> bool:
    """Whether FAME never ran on ``data_dir`` (missing, or none of its state files exist).

    Call it before the app is built: building it creates the audit log.
    """
    return not any((data_dir / name).exists() for name in _STATE_FILES)


@dataclass(frozen=True)
class NewAdminKey:
    """The first admin key, as created (shown once).

    Attributes:
        key: The key in clear: show it once, then forget it.
        key_id: Its id (safe to show and log).
        keyring: The keyring backend it was kept in ("" when it was not).
        keyring_problem: Why it could not be kept there ("" when it was, or not asked).
    """

    key: str
    key_id: str
    keyring: str = ""
    keyring_problem: str = ""


def create_admin_key(safety: Safety, *, keep: bool, actor: str) -> NewAdminKey:
    """Create the first admin key (audited; refused once a key exists), and optionally keep it in
    the OS keyring.

    Raises:
        FameError: A key exists already.
    """
    from fame_desktop.orchestrator.admin import fingerprint
    from fame_desktop.orchestrator.errors import FameError

    key = safety.create_first_key(actor=actor)
    kept, problem = "", ""
    if keep:
        try:
            kept = keep_in_keyring(ADMIN_KEY, key)
        except FameError as exc:
            problem = f"{exc.message} {exc.fix}".strip()
    return NewAdminKey(key=key, key_id=fingerprint(key), keyring=kept, keyring_problem=problem)


def keyring_available() -> str | None:
    """The OS keyring's backend name, or None (then the key can only be copied)."""
    return keyring_backend()


@dataclass(frozen=True)
class DockerCheck:
    """What the Docker check found.

    Attributes:
        ok: The engine answers and the sandbox image is there.
        engine: The engine answers (the image may still be missing).
        detail: The probe's sentence (with its fix when something is wrong).
        how_to: How to fix it on this platform ("" when it works).
    """

    ok: bool
    engine: bool
    detail: str
    how_to: str


def check_docker(settings: SettingsStore) -> DockerCheck:
    """Probe the configured engine once (blocking: seconds at most; run it in a worker).

    The fix is the sandbox's own (:mod:`~fame_desktop.orchestrator.sandbox.fix_hints`): it fits
    this platform, and names ``scripts/`` only in a source checkout, never in the packaged app.
    """
    engine = Engine(str(settings.get("sandbox.docker_host")), str(settings.get("sandbox.image")))
    try:
        state = engine.probe()
    finally:
        engine.close()
    detail, _, fix = state.detail.partition(" Fix: ")
    return DockerCheck(ok=state.available, engine=bool(state.version), detail=detail, how_to=fix)


def summary(paths: DataPaths, settings: SettingsStore, safety: Safety) -> list[tuple[str, str]]:
    """What is set up now, step by step: (step, state) rows for the last page and ``fame setup``."""
    from fame_desktop.orchestrator.voice.catalog import language_name
    from fame_desktop.orchestrator.voice.languages import effective_language

    llm = (
        str(settings.get("llm.local_model"))
        or (f"{settings.get('llm.model')} at {settings.get('llm.base_url')}" if settings.get("llm.base_url") else "")
        or "none yet (answers use the built-in plugins)"
    )  # fmt: skip
    return [
        ("Data directory", str(paths.root)),
        ("Admin keys", f"{len(safety.keys)} stored (as hashes)"),
        ("Network", "on" if settings.get("network.allow_network") else "off"),
        ("Language model", llm),
        ("Voice language", language_name(effective_language(str(settings.get("voice.language"))))),
    ]
