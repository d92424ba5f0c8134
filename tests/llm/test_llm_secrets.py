"""The API key's storage: no keyring on this headless machine, so a file only the user can read."""

from __future__ import annotations

import stat
from pathlib import Path

from fame_desktop.orchestrator.llm import LLM_API_KEY, SecretStore

KEY = "sk-live-abcdefghijklmnopqrstuvwxyz012345"


def test_without_a_keyring_the_key_goes_to_a_private_file(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets")
    assert store.backend.startswith("file:")  # the 'fail' keyring backend is all this machine has
    assert store.get(LLM_API_KEY) is None
    store.set(LLM_API_KEY, KEY)
    assert SecretStore(tmp_path / "secrets").get(LLM_API_KEY) == KEY
    assert stat.S_IMODE(store.file.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    store.set(LLM_API_KEY, "")
    assert SecretStore(tmp_path / "secrets").get(LLM_API_KEY) is None


def test_a_damaged_secrets_file_reads_as_empty_and_can_be_rewritten(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets", use_keyring=False)
    store.folder.mkdir()
    store.file.write_text("{not json")
    assert store.get(LLM_API_KEY) is None
    store.set(LLM_API_KEY, KEY)
    assert store.get(LLM_API_KEY) == KEY
