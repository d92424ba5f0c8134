"""Where the intent classifier's model comes from: the shipped model, a cached one, or training.

The training set is the labelled examples in ``resources/routing/intent_examples.tsv``, every
loaded plugin's example phrases, and the user's own corrections (repeated, so a correction
outweighs the generic examples it contradicts). A model is named by the fingerprint of its
training set: the one shipped in ``resources/routing/`` answers for the built-in plugins with no
corrections; any other set is trained once (about a second of CPU, in a worker thread) and kept
in the data dir, so later starts only read it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from fame_desktop.orchestrator.intent_classifier import Example, IntentModel, fingerprint, train
from fame_desktop.orchestrator.paths import resource_root
from fame_plugin_api import PluginManifest

log = logging.getLogger("fame.routing")

#: How many times a user's correction counts against the generic examples.
CORRECTION_REPEAT = 3
#: Cached models kept in the data dir (older ones are removed).
KEEP_CACHED = 3


def examples_file() -> Path:
    """The labelled examples shipped with the app."""
    return resource_root() / "routing" / "intent_examples.tsv"


def shipped_model_file() -> Path:
    """The model trained at build time on the built-in plugins and the shipped examples."""
    return resource_root() / "routing" / "intent_model.bin"


def read_examples(path: Path) -> list[Example]:
    """``intent<TAB>query`` lines of ``path`` (``#`` starts a comment line)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            intent, text = line.split("\t", 1)
            out.append(Example(intent.strip(), text.strip()))
    return out


def training_set(manifests: Iterable[PluginManifest], corrections: Sequence[Example] = ()) -> list[Example]:
    """Every example the classifier learns from, in a stable order."""
    examples = read_examples(examples_file())
    for manifest in sorted(manifests, key=lambda m: m.name):
        for intent, phrases in sorted(manifest.intents.items()):
            examples.extend(Example(intent, phrase) for phrase in phrases)
    for correction in corrections:
        examples.extend([correction] * CORRECTION_REPEAT)
    return examples


#: Models read from disk in this process, by fingerprint: a model is immutable once trained, and
#: reading one again for every Brain (tests build hundreds) would only churn memory.
_READ: dict[str, IntentModel] = {}
_READ_LIMIT = 8


class IntentModelSource:
    """Finds or trains the model for a training set.

    Args:
        cache_dir: Where trained models are kept (``<data dir>/routing``).
    """

    def __init__(self, cache_dir: Path) -> None:
        self._cache_dir = cache_dir

    @staticmethod
    def in_memory(examples: Sequence[Example]) -> IntentModel | None:
        """The model for ``examples`` if this process has read or trained it already (no I/O)."""
        return _READ.get(fingerprint(examples))

    def cached(self, examples: Sequence[Example]) -> IntentModel | None:
        """The shipped or cached model for ``examples``, or None when it must be trained."""
        wanted = fingerprint(examples)
        if wanted in _READ:
            return _READ[wanted]
        for path in (shipped_model_file(), self._cache_dir / f"intent-{wanted}.bin"):
            if not path.exists():
                continue
            try:
                model = IntentModel.load(path)
            except (OSError, ValueError) as exc:
                log.warning("ignoring routing model %s: %s", path, exc)
                continue
            if model.fingerprint == wanted:
                _remember(model)
                return model
        return None

    def build(self, examples: Sequence[Example]) -> IntentModel:
        """The model for ``examples``: cached, or trained now and cached (blocking: call it in a
        worker thread)."""
        model = self.cached(examples)
        if model is not None:
            return model
        model = train(examples)
        _remember(model)
        try:
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            model.save(self._cache_dir / f"intent-{model.fingerprint}.bin")
            self._prune()
        except OSError as exc:  # a read-only data dir costs a retrain next time, nothing more
            log.warning("could not cache the routing model: %s", exc)
        return model

    def _prune(self) -> None:
        models = sorted(self._cache_dir.glob("intent-*.bin"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in models[KEEP_CACHED:]:
            stale.unlink(missing_ok=True)


def _remember(model: IntentModel) -> None:
    if len(_READ) >= _READ_LIMIT:
        _READ.pop(next(iter(_READ)))
    _READ[model.fingerprint] = model


def forget_read_models() -> None:
    """Drop the models this process has read or trained (the next use reads the files again)."""
    _READ.clear()
