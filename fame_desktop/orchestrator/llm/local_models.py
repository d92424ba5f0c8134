"""Loading llama.cpp models once and keeping them loaded (the in-process backend's model cache).

Loading a GGUF file takes from milliseconds (the test model) to seconds (a 3B model), so a model
stays loaded between completions: :class:`LocalModels` keeps the last one, keyed by its file and
load parameters, and loads a different one only after the old one is released. Each loaded model
owns one worker thread: llama.cpp's context serves one completion at a time, and the thread runs
the load and every completion off the event loop (the binding releases the GIL inside llama.cpp).

``llama_cpp`` is imported on first load, so the CLI and the window's start pay nothing for it.
A file is checked before llama.cpp sees it (:func:`check_model_file`): a missing, truncated or
non-GGUF file becomes an :class:`~fame_desktop.orchestrator.llm.errors.LlmError` with the fix.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fame_desktop.orchestrator.llm.errors import LlmError, LlmModelInvalid, LlmUnavailable

if TYPE_CHECKING:
    from llama_cpp import Llama

log = logging.getLogger("fame.llm.local")

GET_MODEL_HINT = (
    "Get one with `fame models download <name>` (see `fame models list`) or in Settings → Models."
)
GGUF_MAGIC = b"GGUF"
# A GGUF header is magic, version (u32), tensor count (u64) and metadata count (u64).
_HEADER = struct.Struct("<4sIQQ")
_MIN_SIZE = 1024  # smaller than any model llama.cpp could load

_Key = tuple[str, int, int, int, int, int]


@dataclass(frozen=True)
class LocalModelSpec:
    """Which model file to load and how.

    Attributes:
        path: The ``.gguf`` file.
        context_size: Context in tokens (the prompt plus the answer).
        threads: CPU threads (0: all cores but one, so the window stays responsive).
        gpu_layers: Layers offloaded to a GPU (-1: all, 0: CPU only).
        seed: Sampling seed (None: a fresh one per completion).
    """

    path: Path
    context_size: int = 4096
    threads: int = 0
    gpu_layers: int = 0
    seed: int | None = None

    @property
    def key(self) -> _Key:
        """What identifies a loaded model: the file (and its size and time) and the load parameters."""
        try:
            stat = self.path.stat()
            size, mtime = stat.st_size, stat.st_mtime_ns
        except OSError:
            size = mtime = -1
        return (str(self.path.resolve()), size, mtime, self.context_size, self.threads, self.gpu_layers)

    @property
    def thread_count(self) -> int:
        """The threads llama.cpp gets."""
        return self.threads or max(1, (os.cpu_count() or 2) - 1)


def check_model_file(path: Path) -> None:
    """Refuse a file llama.cpp cannot load before it tries (it can abort the process on some).

    Checks that the file exists, starts with the GGUF magic and a known version, and is not
    shorter than its header says (a cut-off download).

    Raises:
        LlmUnavailable: The file does not exist.
        LlmModelInvalid: It is not a GGUF model, or it is truncated.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(_HEADER.size)
    except FileNotFoundError as exc:
        raise LlmUnavailable(
            f"The local model {path.name} is not installed ({path}).", GET_MODEL_HINT
        ) from exc
    except OSError as exc:
        raise LlmModelInvalid(
            f"The local model file {path} cannot be read ({exc.strerror or exc}).",
            "Check the file's permissions, or download the model again.",
        ) from exc
    if len(head) < _HEADER.size or not head.startswith(GGUF_MAGIC):
        raise LlmModelInvalid(
            f"{path.name} is not a GGUF model file.",
            "Local models must be .gguf files (llama.cpp's format). " + GET_MODEL_HINT,
        )
    _magic, version, tensors, _kv = _HEADER.unpack(head)
    if version not in (2, 3) or tensors == 0 or tensors > 1_000_000:
        raise LlmModelInvalid(
            f"{path.name} has an unsupported or damaged GGUF header (version {version}, {tensors} tensors).",
            "Download the model again, or pick another file. " + GET_MODEL_HINT,
        )
    if size < _MIN_SIZE:
        raise LlmModelInvalid(
            f"{path.name} is only {size} bytes: the file is truncated.",
            "Download the model again. " + GET_MODEL_HINT,
        )


class LoadedModel:
    """A model in memory with the one thread that runs it.

    Attributes:
        spec: How it was loaded.
        llama: The llama.cpp model (use it only on :attr:`executor`'s thread).
        name: The model's name as people see it (the file name without ``.gguf``).
        load_s: Seconds the load took.
    """

    def __init__(
        self, spec: LocalModelSpec, llama: Llama, executor: concurrent.futures.Executor, load_s: float
    ):
        self.spec = spec
        self.llama = llama
        self.executor = executor
        self.name = spec.path.stem
        self.load_s = load_s
        self.users = 0  # completions using it now (an unused model may be released)
        self.chat_template: object = None  # the backend's rendering of its chat template, made on first use

    @property
    def context_size(self) -> int:
        """Tokens the loaded context holds."""
        return int(self.llama.n_ctx())

    def metadata(self, key: str) -> str | None:
        """A GGUF metadata value (as llama.cpp gives it, a string)."""
        value = self.llama.metadata.get(key)
        return None if value is None else str(value)

    def close(self) -> None:
        """Free the model once its thread has finished what it was given."""

        def free() -> None:
            self.llama.close()

        try:
            self.executor.submit(free)
        except RuntimeError:  # the executor is shut down already: free here
            free()
        self.executor.shutdown(wait=False)


def _load(spec: LocalModelSpec) -> Llama:
    """Load ``spec`` (on the model's thread).

    Raises:
        LlmError: llama.cpp refused the file or ran out of memory.
    """
    try:
        from llama_cpp import Llama
    except ImportError as exc:  # a build without the binding
        raise LlmUnavailable(
            f"The local model backend is not installed ({exc}).",
            "Install llama-cpp-python (pip install llama-cpp-python==0.3.36), or use an "
            "OpenAI-compatible endpoint (Settings → LLM).",
        ) from exc
    try:
        return Llama(
            model_path=str(spec.path),
            n_ctx=spec.context_size,
            n_threads=spec.thread_count,
            n_threads_batch=spec.thread_count,
            n_gpu_layers=spec.gpu_layers,
            verbose=False,
        )
    except MemoryError as exc:
        raise LlmError(
            f"Not enough memory to load {spec.path.name} with a {spec.context_size}-token context.",
            "Close other programs, lower llm.context_size, or choose a smaller model.",
        ) from exc
    except (ValueError, RuntimeError, OSError) as exc:
        raise LlmModelInvalid(
            f"llama.cpp could not load {spec.path.name}: {exc}.",
            "The file may be damaged or of an architecture this llama.cpp does not know: "
            "download it again or choose another model. " + GET_MODEL_HINT,
        ) from exc


class LocalModels:
    """The loaded local models: at most ``keep`` stay in memory (models are large).

    Built once by the composition root and shared by every :class:`LocalProvider`, so a model is
    loaded once however many providers the settings produce.

    Args:
        keep: How many models stay loaded (the least recently used unused one is released).
        check: Checks a file before loading (default :func:`check_model_file`).
    """

    def __init__(self, keep: int = 1, check: Callable[[Path], None] | None = None) -> None:
        self._keep = max(1, keep)
        self._check = check or check_model_file
        self._loaded: dict[_Key, LoadedModel] = {}
        self._loading: dict[_Key, asyncio.Future[LoadedModel]] = {}
        self._lock = threading.Lock()

    def loaded(self) -> list[LoadedModel]:
        """The models in memory, least recently used first."""
        with self._lock:
            return list(self._loaded.values())

    async def get(self, spec: LocalModelSpec) -> LoadedModel:
        """The loaded model for ``spec``, loading it (off the event loop) the first time.

        A load runs to its end even when the query that started it is cancelled: the next
        query finds the model loaded.

        Raises:
            LlmError: The file is missing or invalid, or llama.cpp could not load it.
        """
        key = spec.key
        with self._lock:
            model = self._loaded.pop(key, None)
            if model is not None:
                self._loaded[key] = model  # most recently used last
                return model
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.ensure_future(self._load(key, spec))
            self._loading[key] = loading
            loading.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(loading)

    async def _load(self, key: _Key, spec: LocalModelSpec) -> LoadedModel:
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="fame-llama")

        def work() -> LoadedModel:
            self._check(spec.path)
            started = time.perf_counter()
            llama = _load(spec)
            load_s = time.perf_counter() - started
            log.info("loaded %s in %.0f ms (ctx %d, %d threads)", spec.path.name, load_s * 1000,
                     spec.context_size, spec.thread_count)  # fmt: skip
            return LoadedModel(spec, llama, executor, load_s)

        try:
            model = await asyncio.wrap_future(executor.submit(work))
        except BaseException:
            executor.shutdown(wait=False)
            raise
        with self._lock:
            self._loaded[key] = model
            self._evict()
        return model

    def _evict(self) -> None:
        """Release the least recently used unused models beyond ``keep`` (lock held)."""
        while len(self._loaded) > self._keep:
            victim = next((k for k, m in self._loaded.items() if m.users == 0), None)
            if victim is None:
                return
            self._loaded.pop(victim).close()

    def close(self) -> None:
        """Release every model (the app is closing)."""
        with self._lock:
            models = list(self._loaded.values())
            self._loaded.clear()
        for model in models:
            model.close()
