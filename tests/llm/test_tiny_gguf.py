"""The tiny GGUF model the tests write loads in real llama.cpp and generates (the fixture others use)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tiny_gguf import MODEL_NAME, write_tiny_gguf


def test_the_tiny_model_loads_and_generates(tiny_gguf_path: Path) -> None:
    from llama_cpp import Llama

    assert tiny_gguf_path.stat().st_size < 2_000_000
    llama = Llama(model_path=str(tiny_gguf_path), n_ctx=256, n_threads=1, verbose=False)
    try:
        assert llama.metadata["general.name"] == MODEL_NAME
        assert "<|im_start|>" in llama.metadata["tokenizer.chat_template"]
        out = llama.create_completion("hello world", max_tokens=12, temperature=0.0)
        assert out["usage"]["completion_tokens"] == 12  # the end token is never chosen greedily
        assert out["choices"][0]["text"]
        chat = llama.create_chat_completion(
            [{"role": "user", "content": "hello"}], max_tokens=8, temperature=0.0
        )
        assert chat["choices"][0]["message"]["content"]
        assert chat["usage"]["prompt_tokens"] > 5  # the ChatML template wrapped the message
    finally:
        llama.close()


def test_the_same_seed_writes_the_same_model(tmp_path: Path) -> None:
    one = write_tiny_gguf(tmp_path / "a.gguf", seed=3)
    two = write_tiny_gguf(tmp_path / "b.gguf", seed=3)
    other = write_tiny_gguf(tmp_path / "c.gguf", seed=4, layers=1)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (one, two, other)]
    assert digest[0] == digest[1] != digest[2]
