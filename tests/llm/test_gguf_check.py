"""The GGUF checks on real files written by the ``gguf`` package, and on bad ones."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from gguf_files import truncated_copy, write_gguf
from tiny_gguf import write_tiny_gguf

from fame_desktop.orchestrator.llm.gguf_check import (
    ModelFileError,
    ModelTooLarge,
    check_gguf,
    estimate_ram,
    memory_warning,
    probe_command,
    trial_load,
)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_gguf(tmp_path / "tiny.gguf", width=64, vocab=40, context=512)


def test_a_valid_file_is_described(model: Path) -> None:
    info = check_gguf(model, context_size=256)
    assert info.architecture == "llama"
    assert info.name == "tiny-test"
    assert info.version == 3
    assert info.context_length == 512
    assert info.quantization == "F32"
    assert info.tensor_count == 3
    assert info.layers == 1
    assert info.parameters == 40 * 64 * 2 + 64
    assert info.file_size == model.stat().st_size
    # weights + f16 KV cache for 256 tokens (1 layer, width 64) + runtime overhead
    assert info.ram_needed == estimate_ram(
        info.file_size, layers=1, embedding=64, heads=4, kv_heads=4, context=256
    )
    assert info.ram_needed > info.file_size + 2 * 256 * 64 * 2
    assert info.to_dict()["path"] == str(model)


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.02])
def test_a_truncated_file_is_refused_with_the_fix(model: Path, tmp_path: Path, keep: float) -> None:
    cut = truncated_copy(model, tmp_path / "cut.gguf", keep)
    with pytest.raises(ModelFileError, match="truncated") as info:
        check_gguf(cut)
    assert "again" in info.value.fix


def test_a_file_cut_inside_the_first_bytes_is_truncated(model: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(model.read_bytes()[:10])
    with pytest.raises(ModelFileError, match="truncated"):
        check_gguf(cut)


def test_not_gguf_empty_folder_and_missing_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "page.gguf"
    text.write_text("<!doctype html><title>404</title>")
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    folder = tmp_path / "folder.gguf"
    folder.mkdir()
    archive = tmp_path / "model.gguf"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x", "y")
    cases = {
        text: "not a GGUF model file (it is text",
        empty: "is empty",
        folder: "is a folder",
        archive: "zip archive",
        tmp_path / "absent.gguf": "does not exist",
    }
    for path, expected in cases.items():
        with pytest.raises(ModelFileError) as info:
            check_gguf(path)
        assert expected in info.value.message, path
        assert info.value.fix


def test_an_unknown_architecture_is_refused(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "odd.gguf", arch="not-a-real-arch")
    with pytest.raises(ModelFileError, match="'not-a-real-arch'"):
        check_gguf(path)


def test_an_unsupported_version_is_refused(model: Path, tmp_path: Path) -> None:
    data = bytearray(model.read_bytes())
    data[4:8] = (9).to_bytes(4, "little")
    odd = tmp_path / "v9.gguf"
    odd.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="version 9"):
        check_gguf(odd)


def test_a_corrupt_header_is_refused(model: Path, tmp_path: Path) -> None:
    data = bytearray(model.read_bytes())
    data[16:24] = (2**40).to_bytes(8, "little")  # an absurd number of key/value pairs
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError) as info:
        check_gguf(bad)
    assert "truncated" in info.value.message or "corrupt" in info.value.message


def test_a_model_larger_than_the_memory_is_refused(model: Path) -> None:
    info = check_gguf(model)
    with pytest.raises(ModelTooLarge, match="needs about") as refused:
        check_gguf(model, memory=info.ram_needed - 1)
    assert "smaller model" in refused.value.fix
    assert check_gguf(model, memory=info.ram_needed).ram_needed == info.ram_needed
    assert check_gguf(model, memory_source=lambda: info.ram_needed + 1).architecture == "llama"
    assert "close other programs" in memory_warning("m", 2_000_000_000, 1_000_000_000)
    assert memory_warning("m", 1, 2) == ""


def test_the_probe_command_is_python_from_source(model: Path) -> None:
    cmd = probe_command(model)
    assert cmd[1:3] == ["-m", "fame_desktop.orchestrator.llm.gguf_probe"] and cmd[-1] == str(model)


@pytest.mark.slow
def test_the_trial_load_runs_llama_cpp_in_a_child_process(tmp_path: Path) -> None:
    good = write_tiny_gguf(tmp_path / "loadable.gguf")
    answer = trial_load(good, timeout=120)
    assert answer["ok"] is True and answer["vocab"] > 256 and answer["architecture"] == "llama"
    # Header checks pass (a llama model with one block) but the block's tensors are missing:
    # llama.cpp refuses it in the child, and the app only sees a clear error.
    incomplete = write_gguf(tmp_path / "incomplete.gguf")
    with pytest.raises(ModelFileError, match=r"llama\.cpp cannot load incomplete\.gguf") as info:
        trial_load(incomplete, timeout=120)
    assert info.value.fix
