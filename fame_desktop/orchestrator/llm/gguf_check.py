"""Checks a ``.gguf`` file before it is imported or loaded into the app's process.

llama.cpp trusts the file it is given: a truncated or corrupt model can make it abort the whole
process. So every model is checked here first, in pure Python: the magic and version, the header
(through the ``gguf`` package's :class:`gguf.GGUFReader`), an architecture llama.cpp knows, every
tensor's data inside the file (a truncated download), and the memory it needs against this
machine's. The answer is a typed :class:`GgufInfo`, or a :class:`ModelFileError` that says what is
wrong and how to fix it.

:func:`trial_load` goes one step further for files from outside (an import): it loads the model
with llama.cpp in a child process with a timeout, so a file that passes the header checks but
still crashes llama.cpp costs a child process, not the app.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fame_desktop.orchestrator.downloads import human_size
from fame_desktop.orchestrator.errors import FameError

log = logging.getLogger("fame.llm.gguf")

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
# What llama.cpp needs beside the weights and the KV cache: compute buffers, the vocabulary, the
# runtime. Measured loads of small models need about this much; bigger ones scale with the file.
RUNTIME_OVERHEAD_BYTES = 256 * 1024 * 1024
RUNTIME_OVERHEAD_FRACTION = 0.10
PROBE_TIMEOUT_S = 120.0
PROBE_MODULE = "fame_desktop.orchestrator.llm.gguf_probe"

_FIX_GET = (
    "Download a model from the catalog (Settings → Models, or `fame models list`), or pick a "
    "complete .gguf file (for example from Hugging Face, LM Studio or Ollama's blob folder)."
)


class ModelFileError(FameError):
    """The file is not a model llama.cpp can load here; ``message`` says why, ``fix`` what to do."""

    code = "invalid_model"


class ModelTooLarge(ModelFileError):
    """The model needs more memory than this machine has."""

    code = "model_too_large"


@dataclass(frozen=True)
class GgufInfo:
    """What the header of a checked ``.gguf`` file says.

    Attributes:
        path: The file.
        file_size: Bytes on disk.
        version: GGUF format version (2 or 3).
        architecture: ``general.architecture`` (``llama``, ``qwen2``, ...).
        name: ``general.name`` (empty when absent).
        parameters: Weights, summed over the tensors.
        context_length: The context the model was trained for (None when absent).
        quantization: The file type (``Q4_K_M``, ``F16``, ...) or the most common tensor type.
        tensor_count: Tensors in the file.
        layers: ``<arch>.block_count`` (None when absent).
        ram_needed: Estimated bytes of memory to run it with the context size checked against.
    """

    path: Path
    file_size: int
    version: int
    architecture: str
    name: str
    parameters: int
    context_length: int | None
    quantization: str
    tensor_count: int
    layers: int | None
    ram_needed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (CLI ``--json``, the probe's answer)."""
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def known_architectures() -> frozenset[str]:
    """Architectures llama.cpp can load (the ``gguf`` package mirrors llama.cpp's list)."""
    import gguf

    return frozenset(gguf.MODEL_ARCH_NAMES.values())


def total_memory() -> int:
    """Bytes of physical memory of this machine."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def available_memory() -> int:
    """Bytes of memory available without swapping (``MemAvailable``; the total when unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return total_memory()


def _read_preamble(path: Path) -> tuple[int, int]:
    """(file size, GGUF version) after checking the file is a non-empty GGUF file."""
    if not path.exists():
        raise ModelFileError(f"{path} does not exist.", _FIX_GET)
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a .gguf model file.", _FIX_GET)
    if not path.is_file():
        raise ModelFileError(f"{path} is not a regular file.", _FIX_GET)
    size = path.stat().st_size
    if size == 0:
        raise ModelFileError(
            f"{path.name} is empty (0 bytes).", "Download or copy the model again. " + _FIX_GET
        )
    with path.open("rb") as fh:
        head = fh.read(24)
    if head[:4] != GGUF_MAGIC:
        hint = ""
        if head[:4] == b"PK\x03\x04":
            hint = " (it is a zip archive: unpack it first)"
        elif head[:1] in (b"<", b"{") or head[:9].lower().startswith(b"<!doctype"):
            hint = " (it is text, perhaps an error page saved instead of the model)"
        elif head[:4] == b"ggjt" or head[:4] == b"tjgg" or head[:4] == b"lmgg":
            hint = " (it is an old GGML/GGJT model that current llama.cpp no longer loads)"
        raise ModelFileError(f"{path.name} is not a GGUF model file{hint}.", _FIX_GET)
    if len(head) < 24:
        raise ModelFileError(
            f"{path.name} is truncated: it ends inside the GGUF header ({size} bytes).",
            "The file is incomplete: download or copy it again.",
        )
    version = struct.unpack("<I", head[4:8])[0]
    if version not in SUPPORTED_VERSIONS:
        raise ModelFileError(
            f"{path.name} is GGUF version {version}; this llama.cpp reads versions 2 and 3.",
            "Get the model converted by a current llama.cpp (most Hugging Face GGUF files are version 3).",
        )
    return size, version


class _Truncated(Exception):
    """A read of the header or a tensor's data ran past the end of the file."""

    def __init__(self, end: int, size: int) -> None:
        super().__init__(end, size)
        self.end = end
        self.size = size


def _reader(path: Path) -> Any:
    """A :class:`gguf.GGUFReader` that reports reads past the end of the file as :class:`_Truncated`."""
    import numpy as np
    from gguf import GGUFReader

    class _CheckedReader(GGUFReader):
        # GGUFReader memory-maps the file and slices it; past the end numpy returns short arrays
        # and fails later with an unrelated message. Checking each read says "truncated" plainly.
        def _get(
            self,
            offset: int,
            dtype: Any,
            count: int = 1,
            override_order: Any = None,
        ) -> Any:
            end = int(offset) + int(count) * np.dtype(dtype).itemsize
            if end > len(self.data):
                raise _Truncated(end, len(self.data))
            return super()._get(offset, dtype, count, override_order)

    return _CheckedReader(path, "r")


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        return None
    try:
        return field.contents()
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


def _int_field(reader: Any, key: str) -> int | None:
    value = _field(reader, key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _quantization(reader: Any) -> str:
    import gguf

    file_type = _int_field(reader, "general.file_type")
    if file_type is not None:
        try:
            return gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            pass
    counts: dict[str, int] = {}
    for tensor in reader.tensors:
        name = gguf.GGMLQuantizationType(tensor.tensor_type).name
        counts[name] = counts.get(name, 0) + int(tensor.n_elements)
    return max(counts, key=lambda k: counts[k]) if counts else "unknown"


def estimate_ram(
    file_size: int,
    *,
    layers: int | None,
    embedding: int | None,
    heads: int | None,
    kv_heads: int | None,
    context: int,
) -> int:
    """Bytes of memory a model needs: its weights, an f16 KV cache for ``context`` tokens, overhead."""
    kv = 0
    if layers and embedding:
        kv_width = embedding if not heads or not kv_heads else embedding * kv_heads // heads
        kv = 2 * layers * context * kv_width * 2  # keys and values, 2 bytes each
    return file_size + kv + RUNTIME_OVERHEAD_BYTES + int(file_size * RUNTIME_OVERHEAD_FRACTION)


def check_gguf(
    path: Path,
    *,
    context_size: int = 4096,
    memory: int | None = None,
    memory_source: Callable[[], int] = total_memory,
) -> GgufInfo:
    """Check ``path`` is a complete GGUF model llama.cpp can load here, and describe it.

    Args:
        path: The ``.gguf`` file.
        context_size: The context the app will run it with (``llm.context_size``), for the memory estimate.
        memory: Bytes of memory the model may use (default: ``memory_source()``, all of this machine's).
        memory_source: Where ``memory`` comes from when not given.

    Raises:
        ModelFileError: missing, a folder, empty, not GGUF, an unsupported version, a corrupt or
            truncated header, tensor data past the end of the file, or an unknown architecture.
        ModelTooLarge: the estimated memory exceeds ``memory``.
    """
    size, version = _read_preamble(path)
    try:
        reader = _reader(path)
    except _Truncated as exc:
        raise ModelFileError(
            f"{path.name} is truncated: its header needs {exc.end} bytes but the file has {exc.size}.",
            "The download or copy stopped early: download it again (downloads resume) or copy the whole file.",
        ) from exc
    except (ValueError, KeyError, IndexError, OverflowError, UnicodeDecodeError, MemoryError) as exc:
        raise ModelFileError(
            f"{path.name} has a corrupt GGUF header ({type(exc).__name__}: {str(exc)[:160]}).",
            "The file is damaged: download it again. " + _FIX_GET,
        ) from exc
    arch = _field(reader, "general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelFileError(
            f"{path.name} does not name its architecture (general.architecture is missing).",
            "It is not a language model file llama.cpp can run. " + _FIX_GET,
        )
    if arch not in known_architectures():
        raise ModelFileError(
            f"{path.name} is a '{arch}' model, an architecture this llama.cpp does not know.",
            "Pick a model of a supported family (llama, qwen2, mistral, phi3, gemma, ...), or update FAME.",
        )
    data_end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    if data_end > size:
        raise ModelFileError(
            f"{path.name} is truncated: its tensors need {data_end} bytes but the file has {size} "
            f"({100 * size / data_end:.0f}% of it).",
            "The download or copy stopped early: download it again (downloads resume) or copy the whole file.",
        )
    if not reader.tensors:
        raise ModelFileError(f"{path.name} holds no tensors (no weights).", _FIX_GET)
    layers = _int_field(reader, f"{arch}.block_count")
    context_length = _int_field(reader, f"{arch}.context_length")
    used_context = min(context_size, context_length) if context_length else context_size
    info = GgufInfo(
        path=path,
        file_size=size,
        version=version,
        architecture=arch,
        name=str(_field(reader, "general.name") or ""),
        parameters=sum(int(t.n_elements) for t in reader.tensors),
        context_length=context_length,
        quantization=_quantization(reader),
        tensor_count=len(reader.tensors),
        layers=layers,
        ram_needed=estimate_ram(
            size,
            layers=layers,
            embedding=_int_field(reader, f"{arch}.embedding_length"),
            heads=_int_field(reader, f"{arch}.attention.head_count"),
            kv_heads=_int_field(reader, f"{arch}.attention.head_count_kv"),
            context=used_context,
        ),
    )
    check_memory(path.name, info.ram_needed, memory if memory is not None else memory_source())
    return info


def check_memory(what: str, needed: int, memory: int) -> None:
    """Refuse a model that needs more than ``memory`` bytes (0: unknown, not checked).

    Raises:
        ModelTooLarge: with the two figures and the fix.
    """
    if memory and needed > memory:
        raise ModelTooLarge(
            f"{what} needs about {human_size(needed)} of memory; this computer has {human_size(memory)}.",
            "Pick a smaller model (fewer parameters or a smaller quantization such as Q4_K_M), "
            "or lower Settings → llm.context_size.",
        )


def memory_warning(what: str, needed: int, available: int) -> str:
    """A warning when ``needed`` exceeds the memory free right now (empty when it fits)."""
    if available and needed > available:
        return (
            f"{what} needs about {human_size(needed)} of memory and {human_size(available)} is free "
            "now: close other programs before using it, or it will run slowly."
        )
    return ""


def probe_command(path: Path) -> list[str]:
    """The command that trial-loads ``path`` in a child process.

    From source, ``python -m`` the probe module; in a frozen build ``sys.executable`` is the app
    itself, which runs the probe as ``fame models probe PATH``.
    """
    if getattr(sys, "frozen", False):
        return [sys.executable, "models", "probe", str(path)]
    return [sys.executable, "-m", PROBE_MODULE, str(path)]


def trial_load(path: Path, *, timeout: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
    """Load ``path`` with llama.cpp in a child process; its answer (``{"ok": true, ...}``).

    Raises:
        ModelFileError: llama.cpp refused the file, crashed on it, or took longer than ``timeout``.
    """
    cmd = probe_command(path)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ModelFileError(
            f"Loading {path.name} took longer than {timeout:.0f} s in a test run.",
            "The computer may be short of memory: close other programs or pick a smaller model.",
        ) from exc
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    answer: dict[str, Any] = {}
    if lines:
        try:
            answer = json.loads(lines[-1])
        except ValueError:
            answer = {}
    if done.returncode == 0 and answer.get("ok"):
        return answer
    if done.returncode < 0:
        why = f"llama.cpp crashed on it (signal {-done.returncode})"
    else:
        why = str(answer.get("error") or (done.stderr.strip().splitlines() or ["no output"])[-1])[:300]
    log.warning("trial load of %s failed: rc=%s %s", path, done.returncode, done.stderr[-2000:])
    raise ModelFileError(
        f"llama.cpp cannot load {path.name}: {why}.",
        "The file is damaged or made for a newer llama.cpp. " + _FIX_GET,
    )
