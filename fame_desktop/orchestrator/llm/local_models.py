"""Loading llama.cpp models once and keeping them loaded (the in-process backend's model cache).

Loading a GGUF file takes from milliseconds (the test model) to seconds (a 3B model), so a model
stays loaded between completions: :class:`LocalModels` keeps the last one, keyed by its file and
load parameters, and loads a different one only after the old one is released. Each loaded model
owns one worker thread: llama.cpp's context serves one completion at a time, and the thread runs
the load and every completion off the event loop (the binding releases the GIL inside llama.cpp).

``llama_cpp`` is imported on first load, so the CLI and the window's start pay nothing for it.
A file is checked before llama.cpp sees it (:func:`check_model_file`) and loaded once in a child
process first (:func:`probe_model_file`: llama.cpp aborts the process on some damaged files): a
missing, truncated, non-GGUF or too large file becomes an
:class:`~fame_desktop.orchestrator.llm.errors.LlmError` with the fix, and the app keeps running.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
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


def check_model_file(path: Path, context_size: int = 4096) -> None:
    """Refuse a file llama.cpp cannot load before it tries (it aborts the process on some).

    The file must exist; then the model manager's checks (:func:`gguf_check.check_gguf
    <fame_desktop.orchestrator.llm.gguf_check.check_gguf>`): a GGUF header, tensor data inside
    the file (not a cut-off download), a known architecture, and enough memory for it.

    Raises:
        LlmUnavailable: The file does not exist.
        LlmModelInvalid: It is not a model llama.cpp can load here (the message says why).
    """
    if not path.is_file():
        raise LlmUnavailable(f"The local model {path.name} is not installed ({path}).", GET_MODEL_HINT)
    from fame_desktop.orchestrator.llm.gguf_check import ModelFileError, check_gguf

    try:
        check_gguf(path, context_size=context_size)
    except ModelFileError as exc:
        raise LlmModelInvalid(exc.message, exc.fix) from exc


def probe_model_file(path: Path) -> None:
    """Load ``path`` once in a child process first: if llama.cpp aborts on it, only the child dies.

    Raises:
        LlmModelInvalid: llama.cpp refused the file or crashed on it.
    """
    from fame_desktop.orchestrator.llm.gguf_check import ModelFileError, trial_load

    try:
        trial_load(path)
    except ModelFileError as exc:
        raise LlmModelInvalid(exc.message, exc.fix) from exc


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
        check: Checks a file and its context size before loading (default :func:`check_model_file`).
        probe: Trial-loads a file in a child process before its first load here (default
            :func:`probe_model_file`; None: no trial load).
    """

    def __init__(
        self,
        keep: int = 1,
        check: Callable[[Path, int], None] | None = None,
        probe: Callable[[Path], None] | None = probe_model_file,
    ) -> None:
        self._keep = max(1, keep)
        self._check = check or check_model_file
        self._probe = probe
        self._probed: set[_Key] = set()  # files llama.cpp loaded once already (in a child or here)
        self._loaded: dict[_Key, LoadedModel] = {}
        self._loading: dict[_Key, asyncio.Future[LoadedModel]] = {}
        self._lock = threading.Lock()
        # Set by close(): a load under way stops at its next step (check, trial load, load) rather
        # than keeping the closing app's process alive to load a model nobody will use.
        self._closing = threading.Event()

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

        def closing() -> None:
            if self._closing.is_set():
                raise LlmUnavailable(f"Not loading {spec.path.name}: the app is closing.")

        def work() -> LoadedModel:
            closing()
            self._check(spec.path, spec.context_size)
            if self._probe is not None and key not in self._probed:
                closing()
                self._probe(spec.path)
                self._probed.add(key)
            closing()
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
        """Release every model (the app is closing); a load under way stops at its next step."""
        self._closing.set()
        with self._lock:
            models = list(self._loaded.values())
            self._loaded.clear()
        for model in models:
            model.close()
