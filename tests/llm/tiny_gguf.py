"""A tiny llama-architecture GGUF model that llama.cpp loads and generates from, made by the tests.

No model weights can be downloaded where the tests run, so the tests write their own model with the
``gguf`` package: a SentencePiece-style vocabulary (``<unk>``, ``<s>``, the ChatML control tokens,
the 256 byte tokens ``<0x00>``..``<0xFF>``, printable ASCII and a few words), a ChatML chat template
in ``tokenizer.chat_template``, and 1 or 2 transformer layers of width 64 with random float32
weights (well under 1 MB). Its output is gibberish, but it is real llama.cpp: tokenising, chat
templates, streaming, stop sequences, grammars and context limits behave as with a real model.

The special tokens' output rows (``</s>`` and ``<|im_end|>``, which end a turn, among them) are
zero, so their logits are 0 while the others spread around 0 with a standard deviation of about
2: at low temperatures the model practically never ends on its own, so a test (or the benchmark)
gets exactly the number of tokens it asks for.

Usage::

    path = write_tiny_gguf(tmp_path / "tiny.gguf", seed=0)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

MODEL_NAME = "tiny-test-llama"
WORDS = ("the", "a", "and", "hello", "world", "model", "answer", "code", "def", "return", "FAME")

# Token types of the GGUF vocabulary (gguf.TokenType).
_NORMAL, _UNKNOWN, _CONTROL, _BYTE = 1, 2, 3, 6


def _vocabulary() -> tuple[list[str], list[float], list[int], dict[str, int]]:
    """Tokens, scores, types and the ids of the special tokens."""
    tokens: list[str] = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    types = [_UNKNOWN, _CONTROL, _CONTROL, _CONTROL, _CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [_BYTE] * 256
    # Printable ASCII as whole tokens ("▁" is SentencePiece's space), then a few words that
    # merge from them: tokenising exercises the real merge path, not only the byte fallback.
    chars = ["▁" if c == " " else c for c in map(chr, range(0x20, 0x7F))]
    tokens += chars
    types += [_NORMAL] * len(chars)
    words = [f"▁{w}" for w in WORDS] + [w for w in WORDS if w not in chars]  # every token once
    tokens += words
    types += [_NORMAL] * len(words)
    scores = [0.0] * 261 + [-1.0] * len(chars) + [float(len(w)) for w in words]
    special = {"unk": 0, "bos": 1, "eos": 4, "im_start": 3}
    return tokens, scores, types, special


def write_tiny_gguf(
    path: str | Path,
    *,
    seed: int = 0,
    duplicate_token: bool = False,
    layers: int = 2,
    width: int = 64,
    heads: int = 4,
    context_length: int = 4096,
    name: str = MODEL_NAME,
) -> Path:
    """Write the tiny model to ``path`` (same seed, same bytes) and return the path.

    Args:
        path: The ``.gguf`` file to write (its folder must exist).
        seed: Seeds the random weights.
        layers: Transformer blocks (1 or 2 keep it tiny).
        width: Embedding width.
        heads: Attention heads (``width`` must divide by it).
        context_length: The context the model claims to be trained for (``llama.context_length``).
        name: ``general.name``: the model's name as the app shows it.
        duplicate_token: Write a damaged vocabulary (a token twice): llama.cpp aborts the whole
            process on it (``GGML_ASSERT``), so the app must try such a file in a child first.
    """
    import gguf  # the tests' own dependency; imported here so collecting tests stays cheap

    path = Path(path)
    rng = np.random.default_rng(seed)
    tokens, scores, types, special = _vocabulary()
    if duplicate_token:
        tokens[-1] = tokens[-2]
    n_vocab = len(tokens)
    head_dim = width // heads
    n_ff = width * 2

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_context_length(context_length)
    writer.add_embedding_length(width)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(0)  # all F32
    writer.add_vocab_size(n_vocab)

    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(special["unk"])
    writer.add_bos_token_id(special["bos"])
    writer.add_eos_token_id(special["eos"])
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(False)
    writer.add_chat_template(CHATML_TEMPLATE)

    def weight(rows: int, cols: int, std: float) -> np.ndarray:
        # numpy shape (rows, cols) is ggml's ne = [cols, rows]: cols is the input width.
        return (rng.standard_normal((rows, cols)) * std).astype(np.float32)

    ones = np.ones(width, dtype=np.float32)
    writer.add_tensor("token_embd.weight", weight(n_vocab, width, 1.0))
    for i in range(layers):
        scale = 1.0 / np.sqrt(width)
        writer.add_tensor(f"blk.{i}.attn_norm.weight", ones.copy())
        writer.add_tensor(f"blk.{i}.attn_q.weight", weight(width, width, scale))
        writer.add_tensor(f"blk.{i}.attn_k.weight", weight(width, width, scale))
        writer.add_tensor(f"blk.{i}.attn_v.weight", weight(width, width, scale))
        writer.add_tensor(f"blk.{i}.attn_output.weight", weight(width, width, scale))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", ones.copy())
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weight(n_ff, width, scale))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weight(n_ff, width, scale))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weight(width, n_ff, 1.0 / np.sqrt(n_ff)))
    writer.add_tensor("output_norm.weight", ones.copy())
    output = weight(n_vocab, width, 0.25)  # RMS-normed input of norm ~8: logits spread ~2
    output[:5] = 0.0  # the special tokens (end of turn among them) score 0: hardly ever chosen
    writer.add_tensor("output.weight", output)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
