"""Small GGUF files for the header checks, written with the ``gguf`` package's writer.

They have the shape of a llama model (architecture keys, a vocabulary, a few float32 tensors) but
are not meant to be run: the loadable tiny model for llama.cpp is ``tests/llm/tiny_gguf.py``.
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


def write_loadable_llama(path: Path, *, width: int = 64, layers: int = 1, seed: int = 0) -> Path:
    """A llama model llama.cpp loads (byte vocabulary, random float32 weights; under 1 MB)."""
    rng = np.random.default_rng(seed)
    tokens = [b"<unk>", b"<s>", b"</s>"] + [f"<0x{i:02X}>".encode() for i in range(256)]
    types = [2, 3, 3] + [6] * 256  # unknown, control, control, byte
    vocab, ffn, heads = len(tokens), width * 2, 4
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-loadable")
    writer.add_context_length(256)
    writer.add_embedding_length(width)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_dimension_count(width // heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(int(gguf.LlamaFileType.ALL_F32))
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * vocab)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)

    def weights(*shape: int) -> np.ndarray:  # type: ignore[type-arg]
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    writer.add_tensor("token_embd.weight", weights(vocab, width))
    writer.add_tensor("output_norm.weight", np.ones(width, dtype=np.float32))
    writer.add_tensor("output.weight", weights(vocab, width))
    for i in range(layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(width, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"blk.{i}.{name}.weight", weights(width, width))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(width, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weights(ffn, width))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weights(ffn, width))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weights(width, ffn))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
