"""The child process of :func:`~fame_desktop.orchestrator.llm.gguf_check.trial_load`.

``python -m fame_desktop.orchestrator.llm.gguf_probe MODEL.gguf`` checks the header, then loads the
model with llama.cpp (tiny context, one thread) and prints one JSON line: ``{"ok": true, ...}`` or
``{"ok": false, "error": ...}``. If llama.cpp aborts on the file, only this process dies.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.llm.gguf_check import check_gguf


def probe(path: Path) -> dict[str, object]:
    """Check and load ``path``; what happened, as the JSON answer."""
    try:
        info = check_gguf(path, context_size=256)
    except FameError as exc:
        return {"ok": False, "error": exc.message}
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        return {"ok": False, "error": f"llama-cpp-python is not installed ({exc})"}
    start = time.perf_counter()
    try:
        model = Llama(model_path=str(path), n_ctx=256, n_threads=1, n_batch=32, verbose=False)
    except Exception as exc:  # llama_cpp raises ValueError and RuntimeError for files it refuses
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    load_s = time.perf_counter() - start
    vocab = int(model.n_vocab())
    model.close()
    return {"ok": True, "load_s": round(load_s, 3), "vocab": vocab, **info.to_dict()}


def main(argv: Sequence[str] | None = None) -> int:
    """Print the probe's answer for the file named in ``argv``; 0 when llama.cpp loaded it."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print(json.dumps({"ok": False, "error": "usage: gguf_probe MODEL.gguf"}))
        return 2
    answer = probe(Path(args[0]))
    print(json.dumps(answer, default=str), flush=True)
    return 0 if answer["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
