"""A learned intent classifier: word and character n-grams with a linear (ridge) model.

Why this shape: a keyword list never covers how people phrase things, while character n-grams
catch typos ("bitcon", "funtion") and word n-grams catch phrasing ("design the backend for").
Ridge regression on one-hot targets is a strong linear text classifier, and solved in its dual
form (an n-by-n system, n = a few hundred examples) it trains in tens of milliseconds with numpy
and is exactly deterministic. numpy is used for training only; prediction is plain Python over a
dict of weights, so a CLI query that loads a cached model pays no numpy import (about 80 ms).
scikit-learn would do the same job but costs ~0.6 s of import and ~100 MB in the packaged app.

Scores become probabilities through a softmax whose temperature is fitted by cross-validation,
so ``probabilities()`` can tell a clear route from a coin toss.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import re
import struct
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, overload

log = logging.getLogger("fame.routing")
_T = TypeVar("_T")

#: Bumped whenever features or training change, so cached models are retrained.
ALGORITHM_VERSION = 1
RIDGE_LAMBDA = 0.6
_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
_SPACES = re.compile(r"\s+")


def _stem(word: str) -> str:
    for suffix, min_len in (("ies", 5), ("ing", 6), ("ed", 5), ("es", 5), ("s", 4)):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
            base = word[: -len(suffix)]
            return base + "y" if suffix == "ies" else base
    return word


def features(text: str) -> dict[str, float]:
    """The L2-normalised, sublinear term weights of ``text``'s n-grams.

    Word unigrams and bigrams (stemmed; prefixed with control characters, which a query can never
    contain, so they cannot collide with character n-grams) carry phrasing; character 2- to 4-grams
    inside each whitespace-separated chunk carry spelling (typos) and shapes such as ``2+2``.
    """
    lowered = _SPACES.sub(" ", text.lower()).strip()
    words = [_stem(w) for w in _WORD.findall(lowered)]
    grams = ["\x01" + w for w in words]
    grams += ["\x02" + a + " " + b for a, b in itertools.pairwise(words)]
    grams.append("\x03" + (words[0] if words else ""))  # how a query starts says a lot ("design", "is")
    for chunk in lowered.split(" "):
        padded = f" {chunk} "
        size = len(padded)
        grams += [padded[i : i + 2] for i in range(size - 1)]
        grams += [padded[i : i + 3] for i in range(size - 2)]
        grams += [padded[i : i + 4] for i in range(size - 3)]
    counts = Counter(grams)
    if len(counts) == len(grams):  # the common case: every n-gram once, all weights equal
        value = 1.0 / math.sqrt(len(grams)) if grams else 0.0
        return dict.fromkeys(counts, value)
    weighted = {k: 1.0 + math.log(v) for k, v in counts.items()}
    norm = math.sqrt(sum(v * v for v in weighted.values())) or 1.0
    return {k: v / norm for k, v in weighted.items()}


@dataclass(frozen=True)
class Example:
    """One labelled query."""

    intent: str
    text: str


class IntentModel:
    """A trained model: per-feature weight rows over ``intents``, and a softmax temperature.

    Args:
        intents: The classes, in row order.
        weights: Feature name -> one weight per intent.
        bias: One bias per intent.
        temperature: Softmax temperature fitted by cross-validation.
        fingerprint: :func:`fingerprint` of the examples it was trained on.
    """

    def __init__(
        self,
        intents: Sequence[str],
        weights: Mapping[str, Sequence[float]],
        bias: Sequence[float],
        temperature: float,
        fingerprint: str = "",
    ) -> None:
        self.intents = tuple(intents)
        self._weights = weights
        self._bias = tuple(bias)
        self.temperature = temperature
        self.fingerprint = fingerprint

    @property
    def feature_count(self) -> int:
        """How many n-grams carry a weight."""
        return len(self._weights)

    def scores(self, text: str) -> dict[str, float]:
        """The raw linear score of every intent (about 1 for a clear match, about 0 otherwise)."""
        return self.analyse(text)[0]

    def coverage(self, text: str) -> float:
        """The share of ``text``'s n-grams the model has weights for (0: it knows nothing of it,
        e.g. another language or script)."""
        return self.analyse(text)[1]

    def analyse(self, text: str) -> tuple[dict[str, float], float]:
        """:meth:`scores` and :meth:`coverage` of ``text`` from one pass over its n-grams."""
        get = self._weights.get
        # n-grams share a handful of weights (one per repeat count): sum each group's rows column by
        # column in C (zip/sum), then scale once, instead of a Python multiply per weight.
        grams = features(text)
        groups: dict[float, list[Sequence[float]]] = {}
        for name, value in grams.items():
            row = get(name)
            if row is not None:
                groups.setdefault(value, []).append(row)
        sums = [0.0] * len(self.intents)
        for value, rows in groups.items():
            sums = [t + sum(column) * value for t, column in zip(sums, zip(*rows, strict=True), strict=True)]
        known = sum(len(rows) for rows in groups.values())
        scores = {intent: b + s for intent, b, s in zip(self.intents, self._bias, sums, strict=True)}
        return scores, known / len(grams) if grams else 0.0

    def probabilities(self, text: str) -> dict[str, float]:
        """Calibrated probabilities of every intent, highest first."""
        return softmax(self.scores(text), self.temperature)

    # --- persistence: a small JSON header and float32 rows, readable without numpy -------------

    def save(self, path: Path) -> None:
        """Write the model atomically to ``path``."""
        names = sorted(self._weights)
        header = json.dumps(
            {
                "version": ALGORITHM_VERSION,
                "intents": list(self.intents),
                "bias": list(self._bias),
                "temperature": self.temperature,
                "fingerprint": self.fingerprint,
                "features": names,
            }
        ).encode()
        k = len(self.intents)
        rows = b"".join(struct.pack(f"<{k}f", *self._weights[n]) for n in names)
        tmp = path.with_suffix(".tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(struct.pack("<I", len(header)) + header + rows)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        """Read a model written by :meth:`save`.

        Raises:
            ValueError: The file is damaged or from another algorithm version.
        """
        blob = path.read_bytes()
        try:
            (size,) = struct.unpack_from("<I", blob)
            header = json.loads(blob[4 : 4 + size])
            if header.get("version") != ALGORITHM_VERSION:
                raise ValueError("model from another version")
            intents = [str(i) for i in header["intents"]]
            names = [str(n) for n in header["features"]]
            k = len(intents)
            offset = 4 + size
            if len(blob) != offset + 4 * k * len(names):
                raise ValueError("model file has the wrong size")
            weights = _PackedRows(names, blob, offset, struct.Struct(f"<{k}f"))
            return cls(
                intents,
                weights,
                [float(b) for b in header["bias"]],
                float(header["temperature"]),
                str(header.get("fingerprint", "")),
            )
        except (struct.error, KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"damaged routing model: {exc}") from exc


class _PackedRows(Mapping[str, tuple[float, ...]]):
    """A saved model's weight rows, each decoded from the file's bytes when a query looks it up.

    A query touches a few dozen of the shipped model's ~9,000 rows: decoding them all when the
    model is read was most of a ``fame ask``'s routing time.
    """

    def __init__(self, names: Sequence[str], blob: bytes, offset: int, row: struct.Struct) -> None:
        self._index = dict(zip(names, range(len(names)), strict=True))
        self._blob = blob
        self._offset = offset
        self._row = row

    def __getitem__(self, name: str) -> tuple[float, ...]:
        row: tuple[float, ...] = self._row.unpack_from(
            self._blob, self._offset + self._row.size * self._index[name]
        )
        return row

    @overload
    def get(self, name: str, /) -> tuple[float, ...] | None: ...
    @overload
    def get(self, name: str, /, default: tuple[float, ...] | _T) -> tuple[float, ...] | _T: ...
    def get(self, name: str, /, default: object = None) -> object:
        """The row of ``name``, or ``default`` (most n-grams of a query have none: no exception)."""
        index = self._index.get(name)
        if index is None:
            return default
        return self._row.unpack_from(self._blob, self._offset + self._row.size * index)

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def softmax(scores: dict[str, float], temperature: float) -> dict[str, float]:
    """Probabilities from scores, highest first."""
    if not scores:
        return {}
    top = max(scores.values())
    exps = {k: math.exp((v - top) / temperature) for k, v in scores.items()}
    total = sum(exps.values())
    return dict(sorted(((k, v / total) for k, v in exps.items()), key=lambda kv: -kv[1]))


def fingerprint(examples: Iterable[Example]) -> str:
    """A digest of the training data and algorithm, naming the cached model."""
    digest = hashlib.sha256(f"v{ALGORITHM_VERSION};{RIDGE_LAMBDA}".encode())
    for ex in examples:
        digest.update(f"\x00{ex.intent}\x01{ex.text}".encode())
    return digest.hexdigest()[:24]


def train(examples: Sequence[Example]) -> IntentModel:
    """Fit the ridge model (dual form) and its softmax temperature.

    The temperature is fitted on leave-one-out scores, which ridge regression gives in closed form
    from the same solve (no refitting per fold), so training costs one n-by-n solve.

    Raises:
        ValueError: Fewer than two intents among ``examples``.
    """
    import numpy as np  # only training needs numpy; prediction stays import-free

    intents = sorted({ex.intent for ex in examples})
    if len(intents) < 2:
        raise ValueError("the classifier needs examples of at least two intents")
    rows = [features(ex.text) for ex in examples]
    vocab: dict[str, int] = {}
    for row in rows:
        for name in row:
            vocab.setdefault(name, len(vocab))
    bias = len(vocab)  # a constant feature (regularised like the rest: fine for a handful of classes)
    # Each example has ~100 of ~9,000 n-grams: the products below run over each row's non-zero
    # columns, so training costs the same with or without BLAS (the packaged app's numpy has none,
    # scripts/numpy_noblas.sh; dense products over the n-by-9,000 matrix take 6 s without it).
    cols = [np.array([vocab[name] for name in row] + [bias], dtype=np.intp) for row in rows]
    vals = [np.array([*row.values(), 1.0], dtype=np.float32).astype(np.float64) for row in rows]
    x = np.zeros((len(rows), bias + 1), dtype=np.float32)  # vals are float32 values: exact
    for i, (col, val) in enumerate(zip(cols, vals, strict=True)):
        x[i, col] = val
    index = {intent: j for j, intent in enumerate(intents)}
    y = np.zeros((len(rows), len(intents)))
    for i, ex in enumerate(examples):
        y[i, index[ex.intent]] = 1.0
    # Ridge in dual form: W = X^T (X X^T + lambda I)^-1 Y.
    gram = np.empty((len(rows), len(rows)))
    for i, (col, val) in enumerate(zip(cols, vals, strict=True)):
        gram[:, i] = x[:, col] @ val
    inverse = np.linalg.inv(gram + RIDGE_LAMBDA * np.eye(len(rows)))
    alpha = inverse @ y
    w = np.zeros((bias + 1, len(intents)))
    for i, (col, val) in enumerate(zip(cols, vals, strict=True)):
        w[col] += np.outer(val, alpha[i])
    # Leave-one-out predictions: (yhat_i - h_ii y_i) / (1 - h_ii) with H = K (K + lambda I)^-1,
    # which is I - lambda (K + lambda I)^-1 (no n-by-n product needed).
    hat = np.eye(len(rows)) - RIDGE_LAMBDA * inverse
    h = np.diag(hat)[:, None]
    loo = (hat @ y - h * y) / (1.0 - h)
    held = [(ex.intent, dict(zip(intents, map(float, loo[i]), strict=True))) for i, ex in enumerate(examples)]
    weights = {name: tuple(float(v) for v in w[col]) for name, col in vocab.items()}
    return IntentModel(
        intents,
        weights,
        [float(v) for v in w[bias]],
        temperature=_fit_temperature(held),
        fingerprint=fingerprint(examples),
    )


def _fit_temperature(held: Sequence[tuple[str, dict[str, float]]]) -> float:
    """The softmax temperature that minimises the log loss of held-out scores."""
    best_t, best_loss = 0.1, math.inf
    for t in (0.03, 0.05, 0.07, 0.1, 0.13, 0.17, 0.22, 0.3, 0.4):
        loss = -sum(math.log(max(softmax(s, t).get(want, 0.0), 1e-12)) for want, s in held)
        if loss < best_loss:
            best_t, best_loss = t, loss
    return best_t


def cross_validate(examples: Sequence[Example], folds: int = 5) -> list[tuple[str, str, float]]:
    """(expected, predicted, top probability) for every example, predicted by a model that never
    saw it (``folds``-fold, examples assigned to folds round-robin)."""
    intents = sorted({ex.intent for ex in examples})
    out: list[tuple[str, str, float]] = []
    for fold in range(folds):
        train_part = [ex for i, ex in enumerate(examples) if i % folds != fold]
        model = train(train_part)
        for i, ex in enumerate(examples):
            if i % folds == fold:
                probs = model.probabilities(ex.text)
                best = next(iter(probs)) if probs else intents[0]
                out.append((ex.intent, best, probs.get(best, 0.0)))
    return out
