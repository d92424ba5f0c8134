"""The voice model catalogue: Vosk's small models per language (``resources/voice/catalog.json``).

Data, not code: each entry names a language, the model, its URL and size as Vosk publishes them,
the md5 where the publisher's list gives one, and FAME's default wake phrase for that language.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fame_desktop.orchestrator.paths import resource_root
from fame_desktop.orchestrator.voice.languages import match, normalise


@dataclass(frozen=True)
class CatalogModel:
    """One downloadable speech model.

    Attributes:
        language: BCP 47 tag (``en-US``, ``ko``).
        name: The language in English (``Korean``).
        native_name: The language in itself (``한국어``).
        model: The model's folder name once unpacked.
        url: The zip archive.
        size: Bytes of the archive.
        md5: The publisher's md5 of the archive ("" when not published to us).
        wake_phrase: FAME's default wake phrase in this language ("" when none).
    """

    language: str
    name: str
    native_name: str
    model: str
    url: str
    size: int
    md5: str = ""
    wake_phrase: str = ""

    def url_from(self, mirror: str) -> str:
        """The archive's URL, from ``mirror`` (a base URL) when one is set."""
        if not mirror.strip():
            return self.url
        return f"{mirror.strip().rstrip('/')}/{self.model}.zip"

    @property
    def label(self) -> str:
        """``Korean — 한국어 (vosk-model-small-ko-0.22, 87 MB)``."""
        native = f" — {self.native_name}" if self.native_name and self.native_name != self.name else ""
        return f"{self.name}{native} ({self.model}, {self.size / 1e6:.0f} MB)"


def catalog_file() -> Path:
    """Where the catalogue is kept."""
    return resource_root() / "voice" / "catalog.json"


@lru_cache(maxsize=4)
def load_catalog(path: Path | None = None) -> tuple[CatalogModel, ...]:
    """Every model of the catalogue at ``path`` (default: the one shipped in ``resources/``)."""
    raw = json.loads((path or catalog_file()).read_text(encoding="utf-8"))
    return tuple(
        CatalogModel(
            language=normalise(str(e["language"])),
            name=str(e["name"]),
            native_name=str(e.get("native_name", "")),
            model=str(e["model"]),
            url=str(e["url"]),
            size=int(e["size"]),
            md5=str(e.get("md5", "")),
            wake_phrase=str(e.get("wake_phrase", "")),
        )
        for e in raw["models"]
    )


def for_language(language: str, catalog: tuple[CatalogModel, ...] | None = None) -> CatalogModel | None:
    """The catalogue's model for ``language``: the same tag, else the same language, else None."""
    models = catalog if catalog is not None else load_catalog()
    best = max(models, key=lambda m: match(m.language, language), default=None)
    return best if best is not None and match(best.language, language) else None


def language_name(language: str) -> str:
    """A readable name of ``language`` (``Korean (ko)``), from the catalogue when it knows it."""
    entry = for_language(language)
    if entry is None:
        return language or "unknown"
    return f"{entry.name.split(' (')[0]} ({normalise(language)})"


def default_wake_phrase(language: str) -> str:
    """FAME's wake phrase for ``language`` ("" when the catalogue has none)."""
    entry = for_language(language)
    return entry.wake_phrase if entry is not None else ""
