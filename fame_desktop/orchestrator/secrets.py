"""Where secrets live (the LLM API key, credentials of URL settings, the settings' signing key): the
OS keyring when one works, else a file only the user can read."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger("fame.secrets")

SERVICE = "fame-desktop"
LLM_API_KEY = "llm.api_key"


def _usable_keyring() -> Any | None:
    """The keyring backend, or None when only the 'fail' / null backends exist (headless Linux)."""
    try:
        # Loaded when a secret is first needed (it probes the OS's backends), inside the try: a
        # broken keyring install must not stop the app.
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring install must not stop the app
        log.info("no keyring: %r", exc)
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    return backend


ADMIN_KEY = "admin.key"
"""The admin key, when the user chose to keep it in the OS keyring (never in the fallback file)."""


def keyring_backend() -> str | None:
    """The OS keyring's backend name, or None when this system has none."""
    backend = _usable_keyring()
    return None if backend is None else type(backend).__name__


def keep_in_keyring(name: str, value: str) -> str:
    """Store ``value`` in the OS keyring only (never in a file); returns the backend's name.

    Raises:
        FameError: There is no usable keyring, or it refused.
    """
    from fame_desktop.orchestrator.errors import FameError

    backend = _usable_keyring()
    if backend is None:
        raise FameError(
            "This system has no OS keyring (no Secret Service, macOS Keychain or Windows "
            "Credential Locker answered); the key was not stored.",
            "Keep the key in a password manager.",
        )
    try:
        backend.set_password(SERVICE, name, value)
    except Exception as exc:
        raise FameError(
            f"The OS keyring refused to store the key ({type(exc).__name__}).",
            "Unlock the keyring (log in to the desktop session) or keep the key in a password manager.",
        ) from exc
    return type(backend).__name__


def from_keyring(name: str) -> str | None:
    """The value kept in the OS keyring under ``name`` (None: none, or no keyring)."""
    backend = _usable_keyring()
    if backend is None:
        return None
    try:
        value = backend.get_password(SERVICE, name)
    except Exception as exc:
        log.warning("keyring read failed (%s)", type(exc).__name__)
        return None
    return str(value) if value else None


class SecretStore:
    """Get, set and delete named secrets.

    Uses the OS keyring when a real backend is available; otherwise a JSON file in ``folder``
    (the data dir's ``secrets``) with mode 0600 in a 0700 folder. Values are never logged.

    Args:
        folder: ``DataPaths.secrets``.
        use_keyring: Set False to force the file (tests, portable installs).
    """

    def __init__(self, folder: Path, *, use_keyring: bool = True) -> None:
        self.folder = folder
        self._use_keyring = use_keyring
        self._probed = False
        self._backend: Any | None = None

    @property
    def _keyring(self) -> Any | None:
        # Probed on first use: loading keyring's backends costs ~0.1 s that start-up need not pay.
        if not self._probed:
            self._backend = _usable_keyring() if self._use_keyring else None
            self._probed = True
        return self._backend

    @property
    def file(self) -> Path:
        """The fallback file."""
        return self.folder / "secrets.json"

    @property
    def backend(self) -> str:
        """``keyring:<backend>`` or ``file:<path>`` (shown in Settings so people know where it went)."""
        if self._keyring is not None:
            return f"keyring:{type(self._keyring).__name__}"
        return f"file:{self.file}"

    def get(self, name: str) -> str | None:
        """The secret called ``name``, or None."""
        if self._keyring is not None:
            try:
                value = self._keyring.get_password(SERVICE, name)
                return str(value) if value is not None else None
            except Exception as exc:
                log.warning("keyring read failed (%s); using the secrets file", type(exc).__name__)
        return self._read().get(name)

    def set(self, name: str, value: str) -> None:
        """Store ``value`` as ``name`` (an empty value deletes it)."""
        if not value:
            self.delete(name)
            return
        if self._keyring is not None:
            try:
                self._keyring.set_password(SERVICE, name, value)
                return
            except Exception as exc:
                log.warning("keyring write failed (%s); using the secrets file", type(exc).__name__)
                self._backend = None
        data = self._read()
        data[name] = value
        self._write(data)

    def delete(self, name: str) -> None:
        """Forget ``name`` (no error when it was not set)."""
        if self._keyring is not None:
            try:
                self._keyring.delete_password(SERVICE, name)
            except Exception:
                log.debug("keyring had no %s", name)
        data = self._read()
        if name in data:
            del data[name]
            self._write(data)

    def _read(self) -> dict[str, str]:
        try:
            raw = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.error(
                "secrets file %s is unreadable (%s); treating it as empty", self.file, type(exc).__name__
            )
            return {}
        return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}

    def _write(self, data: dict[str, str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        # Created 0600 from the start (mkstemp), then renamed over: never readable by others.
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".secrets-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.file)
