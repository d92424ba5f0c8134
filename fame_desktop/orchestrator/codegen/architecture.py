"""Architecture advice: a knowledge base of patterns matched to a request.

Patterns live in ``resources/architecture/patterns.toml`` (when to use, when not, trade-offs,
components, related patterns). A request is matched by whole-word signal phrases (strong) and by
TF-IDF cosine similarity over each pattern's text (so unseen wording still lands near), and the
answer renders the best patterns as markdown.
"""

from __future__ import annotations

import logging
import math
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fame_desktop.orchestrator.codegen.matching import Tokens, keyword_hits, phrase_score, phrase_words, words
from fame_desktop.orchestrator.codegen.recipes import RecipeError
from fame_desktop.orchestrator.paths import resource_root

log = logging.getLogger("fame.codegen")

_LIST_FIELDS = ("signals", "keywords", "when_to_use", "avoid_when", "pros", "cons", "components")
_TEXT_FIELDS = ("id", "name", "summary")

#: Below this score a pattern is not worth showing.
_MIN_SCORE = 0.15


@dataclass(frozen=True)
class Pattern:
    """One architecture pattern.

    Attributes:
        id: Short identifier (``event_sourcing``).
        name: Display name.
        summary: One paragraph.
        signals: Phrases in a request that point straight at this pattern.
        keywords: Words that make it more likely.
        when_to_use: Situations it fits.
        avoid_when: Situations it does not.
        pros: Benefits.
        cons: Costs.
        components: The parts it is built from.
        related: Ids of patterns often combined with it.
    """

    id: str
    name: str
    summary: str
    signals: tuple[str, ...]
    keywords: tuple[str, ...]
    when_to_use: tuple[str, ...]
    avoid_when: tuple[str, ...]
    pros: tuple[str, ...]
    cons: tuple[str, ...]
    components: tuple[str, ...]
    related: tuple[str, ...] = ()

    def text(self) -> str:
        """All of the pattern's prose, for similarity."""
        parts = [self.name, self.summary, *self.signals, *self.keywords, *self.when_to_use, *self.components]
        return " ".join(parts)


@dataclass(frozen=True)
class Advice:
    """The answer to an architecture request.

    Attributes:
        markdown: What a person reads.
        patterns: The patterns shown, best first, with scores in [0, 1].
    """

    markdown: str
    patterns: list[tuple[Pattern, float]]


def _pattern(raw: dict[str, Any], where: str) -> Pattern:
    for name in _TEXT_FIELDS:
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise ValueError(f"{where}: pattern field '{name}' must be a non-empty string")
    for name in (*_LIST_FIELDS, "related"):
        value = raw.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError(f"{where}: pattern '{raw['id']}' field '{name}' must be a list of strings")
        if name in _LIST_FIELDS and not value:
            raise ValueError(f"{where}: pattern '{raw['id']}' field '{name}' is empty")
    unknown = set(raw) - {*_TEXT_FIELDS, *_LIST_FIELDS, "related"}
    if unknown:
        raise ValueError(f"{where}: pattern '{raw['id']}' has unknown field(s) {sorted(unknown)}")
    return Pattern(
        id=raw["id"],
        name=raw["name"],
        summary=" ".join(raw["summary"].split()),
        related=tuple(raw.get("related", [])),
        **{name: tuple(raw[name]) for name in _LIST_FIELDS},
    )


class ArchitectureKB:
    """Architecture patterns and the matcher that picks them for a request.

    Args:
        patterns: The patterns.
    """

    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = {p.id: p for p in patterns}
        self._signals = {p.id: [phrase_words(s) for s in p.signals] for p in patterns}
        self._keywords = {p.id: [phrase_words(k) for k in p.keywords] for p in patterns}
        # TF-IDF vectors of each pattern's prose, computed once.
        docs = {p.id: Counter(words(p.text())) for p in patterns}
        df: Counter[str] = Counter()
        for counts in docs.values():
            df.update(counts.keys())
        n = len(docs)
        self._idf = {w: math.log((1 + n) / (1 + c)) + 1.0 for w, c in df.items()}
        self._vectors = {pid: self._vector(counts) for pid, counts in docs.items()}

    @classmethod
    def load(cls, path: Path | None = None) -> ArchitectureKB:
        """Load ``resources/architecture/patterns.toml`` (or ``path``).

        Raises:
            RecipeError: The file is missing or a pattern is malformed (named with the file).
        """
        file = path if path is not None else resource_root() / "architecture" / "patterns.toml"
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise RecipeError(
                f"The architecture knowledge base {file} is missing.", "Reinstall the app."
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise RecipeError(f"{file}: not valid TOML ({exc}).", "Fix the file.") from exc
        raw = data.get("pattern", [])
        try:
            patterns = [_pattern(p, str(file)) for p in raw]
        except ValueError as exc:
            raise RecipeError(str(exc), "Fix the file.") from exc
        ids = [p.id for p in patterns]
        if not patterns or len(set(ids)) != len(ids):
            raise RecipeError(f"{file}: no patterns, or duplicate pattern ids.", "Fix the file.")
        missing = {r for p in patterns for r in p.related} - set(ids)
        if missing:
            raise RecipeError(f"{file}: 'related' names unknown patterns {sorted(missing)}.", "Fix the file.")
        log.info("architecture knowledge base: %d patterns", len(patterns))
        return cls(patterns)

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        vec = {w: (1 + math.log(c)) * self._idf.get(w, 0.0) for w, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {w: v / norm for w, v in vec.items()}

    def rank(self, text: str) -> list[tuple[Pattern, float]]:
        """Every pattern with its score in [0, 1] for ``text``, best first."""
        tokens = Tokens.of(text)
        query = self._vector(Counter(tokens.plain))
        ranked = []
        for pid, pattern in self.patterns.items():
            signal = phrase_score(tokens, self._signals[pid])
            hits = keyword_hits(tokens, self._keywords[pid])
            cosine = sum(v * self._vectors[pid].get(w, 0.0) for w, v in query.items())
            # Signals decide, keywords support, similarity breaks ties and catches new wording.
            raw = 0.45 * min(signal, 3.0) / 3.0 + 0.15 * min(hits, 3) / 3.0 + 0.4 * cosine
            if signal > 0:
                raw += 0.25
            ranked.append((pattern, round(min(raw, 1.0), 4)))
        ranked.sort(key=lambda item: (-item[1], item[0].id))
        return ranked

    def advise(self, text: str, limit: int = 3) -> Advice:
        """The best patterns for ``text`` (up to ``limit``) and a markdown answer."""
        ranked = self.rank(text)
        chosen = [(p, s) for p, s in ranked[:limit] if s >= _MIN_SCORE]
        if not chosen:
            # Nothing specific: the safe default for most new systems.
            chosen = [
                (self.patterns[pid], 0.0) for pid in ("modular_monolith", "layered") if pid in self.patterns
            ]
        return Advice(markdown=render(text, chosen, self.patterns), patterns=chosen)


def render(text: str, chosen: list[tuple[Pattern, float]], catalog: dict[str, Pattern]) -> str:
    """The markdown answer for ``chosen`` patterns."""
    if not chosen:
        return "I have no architecture patterns loaded."
    best = chosen[0][0]
    lines = [f"## Recommended: {best.name}", "", best.summary, ""]
    for i, (pattern, score) in enumerate(chosen):
        if i:
            lines += [f"## Also consider: {pattern.name}", "", pattern.summary, ""]
        lines += [f"*Match: {score:.0%}*", "", "**When to use**", ""]
        lines += [f"- {w}" for w in pattern.when_to_use]
        lines += ["", "**Avoid when**", ""] + [f"- {w}" for w in pattern.avoid_when]
        lines += ["", "**Trade-offs**", ""]
        lines += [f"- ✓ {p}" for p in pattern.pros] + [f"- ⚠ {c}" for c in pattern.cons]
        if i == 0:
            lines += ["", "**Components**", ""] + [f"- {c}" for c in pattern.components]
            related = [catalog[r].name for r in pattern.related if r in catalog]
            if related:
                lines += ["", "**Often combined with:** " + ", ".join(related)]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
