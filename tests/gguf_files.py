"""Small GGUF files for the header checks, written with the ``gguf`` package's writer.

They have the shape of a llama model (architecture keys, a vocabulary, a few float32 tensors) but
are not meant to be run (the loadable tiny model for llama.cpp is ``tests/llm/tiny_gguf.py``):
llama.cpp refuses them for their missing layer tensors.
Bad files (truncated, not GGUF, unknown architecture) are made from these.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np


def write_gguf(
    path: Path,
    *,
    arch: str = "llama",
    width: int = 64,
    vocab: int = 32,
    context: int = 256,
    name: str = "tiny-test",
    seed: int = 0,
) -> Path:
    """Write a small llama-shaped GGUF model to ``path`` (about ``width * vocab * 8`` bytes)."""
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(name)
    writer.add_context_length(context)
    writer.add_embedding_length(width)
    writer.add_block_count(1)
    writer.add_head_count(4)
    writer.add_head_count_kv(4)
    writer.add_feed_forward_length(width * 2)
    writer.add_file_type(int(gguf.LlamaFileType.ALL_F32))
    writer.add_tokenizer_model("llama")
    writer.add_token_list([f"t{i}" for i in range(vocab)])
    writer.add_tensor("token_embd.weight", rng.standard_normal((vocab, width), dtype=np.float32))
    writer.add_tensor("output_norm.weight", np.ones(width, dtype=np.float32))
    writer.add_tensor("output.weight", rng.standard_normal((vocab, width), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def truncated_copy(src: Path, dest: Path, keep: float) -> Path:
    """``dest``: the first ``keep`` fraction (0..1) of ``src``'s bytes."""
    data = src.read_bytes()
    dest.write_bytes(data[: int(len(data) * keep)])
    return dest
