"""The model store over a real app and a real HTTP server on 127.0.0.1: download, import, use, remove."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gguf_files import truncated_copy, write_gguf
from model_server import Served, serve

from fame_desktop.app import App, build_app
from fame_desktop.orchestrator.audit_kinds import AuditKind
from fame_desktop.orchestrator.downloads import DownloadFailed, NotEnoughDisk
from fame_desktop.orchestrator.errors import AdminRequired, FameError
from fame_desktop.orchestrator.events import DownloadProgress
from fame_desktop.orchestrator.llm.catalog import Catalog, CatalogEntry
from fame_desktop.orchestrator.llm.gguf_check import ModelFileError, ModelTooLarge
from fame_desktop.orchestrator.llm.model_store import ModelNotFound, ModelStore

GB = 1_000_000_000


@pytest.fixture
def app(data_dir: Path) -> Iterator[App]:
    application = build_app(data_dir)
    yield application
    asyncio.run(application.aclose())


@pytest.fixture
def model_bytes(tmp_path: Path) -> bytes:
    return write_gguf(tmp_path / "src.gguf", width=128, vocab=600).read_bytes()


@pytest.fixture
def server(model_bytes: bytes) -> Iterator[tuple[str, Served]]:
    with serve() as (base, served):
        served.files["/tiny.gguf"] = model_bytes
        served.files["/other.gguf"] = model_bytes
        served.files["/junk.gguf"] = b"<html>not a model</html>" * 100
        yield base, served


def entry(base: str, data: bytes, **over: Any) -> CatalogEntry:
    fields: dict[str, Any] = {
        "id": "tiny",
        "name": "Tiny test model",
        "file": "tiny.gguf",
        "url": f"{base}/tiny.gguf",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "ram_bytes": 50_000_000,
        "licence": "MIT",
    }
    fields.update(over)
    return CatalogEntry(**fields)


def store(app: App, *entries: CatalogEntry, **kw: Any) -> ModelStore:
    kw.setdefault("memory", lambda: 8 * GB)
    kw.setdefault("free_memory", lambda: 4 * GB)
    kw.setdefault("trial", None)
    return ModelStore(
        models_dir=app.paths.llm_models,
        catalog=Catalog(models=entries),
        settings=app.settings,
        safety=app.safety,
        audit=app.audit.append,
        bus=app.bus,
        **kw,
    )


def kinds(app: App, kind: AuditKind) -> list[dict[str, Any]]:
    return [e.data for e in app.audit.query(kinds=[kind.value], newest_first=False)]


def test_a_pinned_catalog_model_downloads_without_a_key_and_becomes_active(
    app: App, server: tuple[str, Served], model_bytes: bytes
) -> None:
    base, _served = server
    models = store(app, entry(base, model_bytes))
    events: list[DownloadProgress] = []
    app.bus.subscribe(DownloadProgress, events.append)
    added = models.download("tiny", actor="test")
    assert added.activated and added.model.active and added.info.architecture == "llama"
    assert app.settings.get("llm.local_model") == "tiny.gguf"
    assert (app.paths.llm_models / "tiny.gguf").read_bytes() == model_bytes
    assert [p.name for p in app.paths.llm_models.iterdir()] == ["tiny.gguf"]
    assert events[-1].state == "done" and events[-1].done == len(model_bytes)
    [record] = kinds(app, AuditKind.MODEL_DOWNLOAD)
    assert record["authorised_by"] == "catalog-pinned" and record["outcome"] == "installed"
    assert [r.installed for r in models.rows()] == [True]


def test_a_second_model_does_not_take_over_the_active_one(
    app: App, server: tuple[str, Served], model_bytes: bytes
) -> None:
    base, _ = server
    models = store(
        app,
        entry(base, model_bytes),
        entry(base, model_bytes, id="other", file="other.gguf", url=f"{base}/other.gguf"),
    )
    models.download("tiny")
    added = models.download("other")
    assert not added.activated and app.settings.get("llm.local_model") == "tiny.gguf"
    model, _info = models.use("other.gguf", actor="test")
    assert model.active and app.settings.get("llm.local_model") == "other.gguf"
    assert kinds(app, AuditKind.MODEL_USE)[-1]["file"] == "other.gguf"


def test_a_cut_download_resumes(app: App, server: tuple[str, Served], model_bytes: bytes) -> None:
    base, served = server
    served.cut_after = len(model_bytes) // 2
    models = store(app, entry(base, model_bytes))
    with pytest.raises(DownloadFailed, match="interrupted"):
        models.download("tiny")
    assert models.rows()[0].partial == len(model_bytes) // 2
    assert models.installed() == [] and app.settings.get("llm.local_model") == ""
    added = models.download("tiny")
    assert added.resumed_from == len(model_bytes) // 2
    assert served.ranges[-1] == f"bytes={len(model_bytes) // 2}-"
    assert (app.paths.llm_models / "tiny.gguf").read_bytes() == model_bytes


def test_a_checksum_mismatch_installs_nothing_and_keeps_what_was_there(
    app: App, server: tuple[str, Served], model_bytes: bytes, tmp_path: Path
) -> None:
    base, _ = server
    models = store(app, entry(base, model_bytes, sha256="ab" * 32, id="bad", file="bad.gguf"))
    kept = write_gguf(tmp_path / "kept.gguf")
    models.import_file(kept)
    with pytest.raises(DownloadFailed, match="SHA-256") as info:
        models.download("bad")
    assert "nothing was installed" in info.value.fix
    assert [m.name for m in models.installed()] == ["kept.gguf"]
    assert app.settings.get("llm.local_model") == "kept.gguf"
    assert not list(app.paths.llm_models.glob(".*"))
    assert kinds(app, AuditKind.MODEL_DOWNLOAD)[-1]["outcome"] == "failed"


def test_too_little_disk_is_refused_before_downloading(
    app: App, server: tuple[str, Served], model_bytes: bytes
) -> None:
    base, served = server
    models = store(app, entry(base, model_bytes, size_bytes=5 * GB), free_space=lambda _p: GB)
    with pytest.raises(NotEnoughDisk, match=r"needs 5\.0 GB more and 1\.0 GB is free") as info:
        models.download("tiny")
    assert "Free at least" in info.value.fix
    assert served.ranges == [] and models.installed() == []


def test_a_model_larger_than_the_memory_is_refused_and_a_tight_one_warned(
    app: App, server: tuple[str, Served], model_bytes: bytes
) -> None:
    base, served = server
    models = store(app, entry(base, model_bytes, ram_bytes=16 * GB))
    with pytest.raises(ModelTooLarge, match=r"needs about 16\.0 GB of memory; this computer has 8\.0 GB"):
        models.download("tiny")
    assert served.ranges == [] and models.rows()[0].fits is False
    warned = store(app, entry(base, model_bytes, ram_bytes=6 * GB)).download("tiny")
    assert "close other programs" in warned.warning


def test_urls_and_unpinned_entries_need_an_admin_key(
    app: App, server: tuple[str, Served], model_bytes: bytes
) -> None:
    base, served = server
    models = store(app, entry(base, model_bytes, sha256=None))
    with pytest.raises(AdminRequired):
        models.download("tiny")
    with pytest.raises(AdminRequired):
        models.download(f"{base}/other.gguf")
    with pytest.raises(AdminRequired):
        models.download(f"{base}/other.gguf", key="fame_wrong-key-000000000000000000000")
    assert served.ranges == []
    assert len(kinds(app, AuditKind.MODEL_REFUSED)) == 3
    key = app.safety.create_first_key()
    assert models.download("tiny", key=key).model.name == "tiny.gguf"
    added = models.download(f"{base}/other.gguf", key=key)
    assert added.model.name == "other.gguf"
    assert kinds(app, AuditKind.MODEL_DOWNLOAD)[-1]["authorised_by"] not in (None, "catalog-pinned")


def test_a_downloaded_file_that_is_not_a_model_is_not_installed(app: App, server: tuple[str, Served]) -> None:
    base, _ = server
    models = store(app)
    key = app.safety.create_first_key()
    with pytest.raises(ModelFileError, match="not a GGUF model file"):
        models.download(f"{base}/junk.gguf", key=key)
    assert models.installed() == [] and not list(app.paths.llm_models.iterdir())
    with pytest.raises(ModelNotFound, match="not in the model catalog"):
        models.download("no-such-model")


def test_import_of_good_and_bad_files(app: App, tmp_path: Path) -> None:
    models = store(app)
    good = write_gguf(tmp_path / "good.gguf")
    bad_files = {
        truncated_copy(good, tmp_path / "cut.gguf", 0.6): "truncated",
        tmp_path / "text.gguf": "not a GGUF model file",
        tmp_path / "empty.gguf": "is empty",
        tmp_path / "folder.gguf": "is a folder",
    }
    (tmp_path / "text.gguf").write_text("hello")
    (tmp_path / "empty.gguf").write_bytes(b"")
    (tmp_path / "folder.gguf").mkdir()
    for path, expected in bad_files.items():
        with pytest.raises(ModelFileError, match=expected):
            models.import_file(path, actor="test")
    assert not app.paths.llm_models.exists() or not list(app.paths.llm_models.iterdir())
    added = models.import_file(good, actor="test")
    assert added.activated and added.info.architecture == "llama"
    assert (app.paths.llm_models / "good.gguf").read_bytes() == good.read_bytes() and good.exists()
    with pytest.raises(FameError, match="installed already"):
        models.import_file(good)
    outcomes = [d["outcome"] for d in kinds(app, AuditKind.MODEL_IMPORT)]
    assert outcomes == ["failed"] * 4 + ["installed", "failed"]


def test_remove_clears_the_active_model_and_use_checks_the_file(app: App, tmp_path: Path) -> None:
    models = store(app)
    models.import_file(write_gguf(tmp_path / "a.gguf"))
    models.import_file(write_gguf(tmp_path / "b.gguf"))
    assert app.settings.get("llm.local_model") == "a.gguf"
    models.remove("b", actor="test")
    assert app.settings.get("llm.local_model") == "a.gguf"
    models.remove("a.gguf", actor="test")
    assert app.settings.get("llm.local_model") == "" and models.installed() == []
    with pytest.raises(ModelNotFound, match="installed: none"):
        models.remove("a.gguf")
    with pytest.raises(ModelNotFound):
        models.use("a.gguf")
    # A file damaged after it was installed cannot be made active.
    damaged = app.paths.llm_models / "c.gguf"
    truncated_copy(write_gguf(tmp_path / "c.gguf"), damaged, 0.5)
    with pytest.raises(ModelFileError, match="truncated"):
        models.use("c")
    assert app.settings.get("llm.local_model") == ""
    assert [d["was_active"] for d in kinds(app, AuditKind.MODEL_REMOVE)] == [False, True]
