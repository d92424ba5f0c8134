"""Where FAME keeps its files: the data dir and what lives in it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "fame-desktop"


def resource_root() -> Path:
    """The ``resources/`` folder, in a source checkout, an installed package or a frozen build."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def builtin_plugin_dir() -> Path:
    """The ``core/`` folder that holds the built-in plugins."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "core"
    return Path(__file__).resolve().parents[2] / "core"


@dataclass(frozen=True)
class DataPaths:
    """Every file FAME writes, under one data dir.

    Args:
        root: The data dir; created on first use.
    """

    root: Path

    @classmethod
    def resolve(cls, data_dir: str | os.PathLike[str] | None = None) -> DataPaths:
        """``data_dir`` if given, else ``$FAME_HOME``, else the platform's user data dir."""
        chosen = data_dir or os.environ.get("FAME_HOME") or platformdirs.user_data_dir(APP_NAME)
        root = Path(chosen).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    @property
    def settings(self) -> Path:
        return self.root / "settings.json"

    @property
    def admin_keys(self) -> Path:
        return self.root / "admin_keys.json"

    @property
    def audit_db(self) -> Path:
        return self.root / "audit.sqlite3"

    @property
    def plugins(self) -> Path:
        return self.root / "plugins"

    @property
    def plugin_approvals(self) -> Path:
        """Signed admin approvals of user plugins (by file hash)."""
        return self.root / "plugin_approvals.json"

    @property
    def conversations_db(self) -> Path:
        return self.root / "conversations.sqlite3"

    @property
    def models(self) -> Path:
        """Voice (Vosk) model folders."""
        return self.root / "models"

    @property
    def llm_models(self) -> Path:
        """Local language models (``.gguf`` files) installed by the model manager."""
        return self.root / "llm_models"

    @property
    def evolution(self) -> Path:
        return self.root / "evolution"

    @property
    def routing(self) -> Path:
        """Intent models trained for this data dir, and the user's routing feedback."""
        return self.root / "routing"

    @property
    def sandbox_pool(self) -> Path:
        """What the sandbox's warm pool learned: the longest recent burst of runs."""
        return self.root / "sandbox_pool.json"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"
