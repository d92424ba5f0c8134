"""The catalog of language models the model manager offers (``resources/models/catalog.json``).

Declared once as data and validated when loaded: the window, the CLI and the store read the same
entries. An entry with a SHA-256 is *pinned*: its URL names a fixed commit and the checksum is
checked after the download, so a person may download it without an admin key. An entry without
one is unpinned and needs an admin key, like an arbitrary URL.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.paths import resource_root


class CatalogError(FameError):
    """The catalog file is missing or invalid."""

    code = "invalid_catalog"


class CatalogEntry(BaseModel):
    """One downloadable model.

    Attributes:
        id: Stable id (``fame models download ID``).
        name: For people.
        description: What it is good for.
        file: The ``.gguf`` file name it is installed as.
        url: Where it is downloaded from (http or https).
        sha256: Its SHA-256 (None: unpinned, admin only).
        checksum_source: The page that shows the checksum.
        size_bytes: Its size (as the source shows it; the server's exact length is what is checked).
        ram_bytes: Memory needed to run it (FAME's estimate).
        parameters: ``0.5B``, ``3B``, ...
        quantization: ``Q4_K_M``, ...
        context_length: Tokens of context it was trained for.
        licence: Its licence's name.
        licence_url: Where the licence text is.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,79}$")
    name: str = Field(min_length=1)
    description: str = ""
    file: str
    url: str
    sha256: str | None = None
    checksum_source: str = ""
    size_bytes: int = Field(gt=0)
    ram_bytes: int = Field(gt=0)
    parameters: str = ""
    quantization: str = ""
    context_length: int | None = None
    licence: str = Field(min_length=1)
    licence_url: str = ""

    @field_validator("file")
    @classmethod
    def _plain_gguf_name(cls, value: str) -> str:
        if PurePosixPath(value).name != value or not value.endswith(".gguf") or value.startswith("."):
            raise ValueError("should be a plain file name ending in .gguf")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("should be an http(s) URL")
        return value

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if len(value) != 64 or set(value) - set("0123456789abcdef"):
            raise ValueError("should be 64 hexadecimal digits, or null for an unpinned entry")
        return value

    @property
    def pinned(self) -> bool:
        """Whether the download is checked against a known SHA-256 (no admin key needed)."""
        return self.sha256 is not None


class Catalog(BaseModel):
    """Every catalog entry, in the order offered."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: int = 1
    models: tuple[CatalogEntry, ...] = ()

    @field_validator("models")
    @classmethod
    def _unique(cls, value: tuple[CatalogEntry, ...]) -> tuple[CatalogEntry, ...]:
        for attr in ("id", "file"):
            seen = [getattr(e, attr) for e in value]
            dupes = sorted({v for v in seen if seen.count(v) > 1})
            if dupes:
                raise ValueError(f"duplicate {attr}: {', '.join(dupes)}")
        return value

    def get(self, model_id: str) -> CatalogEntry | None:
        """The entry with ``model_id``, or None."""
        return next((e for e in self.models if e.id == model_id), None)

    def by_file(self, file: str) -> CatalogEntry | None:
        """The entry installed as ``file``, or None."""
        return next((e for e in self.models if e.file == file), None)


def default_catalog_path() -> Path:
    """``resources/models/catalog.json``."""
    return resource_root() / "models" / "catalog.json"


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate the catalog (default: the one shipped in ``resources``).

    Raises:
        CatalogError: the file is missing, not JSON, or an entry is invalid (which and why).
    """
    path = path or default_catalog_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(f"The model catalog {path} cannot be read ({exc}).", "Reinstall FAME.") from exc
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise CatalogError(
            f"The model catalog {path} is invalid at {where}: {err['msg']}.",
            "Fix the entry or reinstall FAME.",
        ) from exc
