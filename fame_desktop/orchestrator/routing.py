"""Intent inference: a learned classifier, with the plugins' keywords and patterns as signals.

Keyword matching is on whole words after light normalisation (so "now" never matches inside
"know"), weighted by how specific a word is across intents (an IDF over the declarations), plus
regex patterns a plugin declares for shapes words cannot catch (``12*(3+4)``). When an
:class:`~fame_desktop.orchestrator.intent_classifier.IntentModel` is given, its scores lead and
the keyword scores are added as a bounded signal; the combined scores become calibrated
probabilities, and a route whose two best intents are close is marked ambiguous so the Brain can
ask instead of guessing.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from fame_desktop.orchestrator.intent_classifier import IntentModel, softmax
from fame_plugin_api import PluginManifest, user_code

FALLBACK_INTENT = "chat"
#: Where a query carrying the user's own code goes (``user_code``), before any scoring.
RUN_CODE_INTENT = "run_code"
MIN_SCORE = 0.9
#: How much the keyword signal (scaled to 0..1) adds to the classifier's score (about 1 for a
#: clear match); chosen by cross-validation on the labelled set (benchmarks/bench_routing.py).
KEYWORD_WEIGHT = 0.5
#: A route is ambiguous (the Brain asks) when the second-best intent is at least this likely: the
#: probabilities are calibrated, so a guess would then be wrong at least this often.
AMBIGUOUS_SECOND = 0.3
#: Below this probability the classifier is guessing: answer as chat.
MIN_PROBABILITY = 0.3
#: A query of which the classifier knows less than this share of n-grams (another language, a
#: script it never saw, gibberish) and no keyword matches is answered as chat, without asking.
MIN_COVERAGE = 0.4

_WORD = re.compile(r"[a-z0-9]+(?:[+#]+)?")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "and",
        "or",
        "but",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "i",
        "me",
        "my",
        "you",
        "your",
        "we",
        "our",
        "us",
        "he",
        "she",
        "they",
        "them",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "please",
        "with",
        "from",
        "by",
        "as",
        "so",
        "some",
        "any",
        "about",
        "into",
        "than",
        "then",
        "there",
        "here",
        "just",
        "also",
        "very",
    ]
)


def stem(word: str) -> str:
    """A light English stemmer: enough to match 'sorting'/'sorted'/'sorts' to 'sort'."""
    for suffix, min_len in (("ies", 5), ("ing", 6), ("ed", 5), ("es", 5), ("s", 4)):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
            base = word[: -len(suffix)]
            return base + "y" if suffix == "ies" else base
    return word


def tokens(text: str) -> list[str]:
    """Lower-cased, stemmed words of ``text`` (stop words kept; callers decide)."""
    return [stem(w) for w in _WORD.findall(text.lower())]


@dataclass(frozen=True)
class Route:
    """The router's decision."""

    intent: str
    confidence: float
    scores: dict[str, float]
    explicit: bool = False
    #: The two intents to choose between when the route is a near tie (else empty).
    alternatives: tuple[str, ...] = ()
    #: The rule that decided before any scoring (``user_code``), or empty.
    rule: str = ""
    #: No intent was likely enough: this is the chat fallback, which a language model may
    #: replace by its own choice among the plugins' intents (the Brain asks one when configured).
    uncertain: bool = False
    #: ``model`` when a language model chose the intent of an uncertain route (else "").
    decided_by: str = ""

    @property
    def ambiguous(self) -> bool:
        """Whether the two best intents are too close to pick one without asking."""
        return len(self.alternatives) >= 2


class Router:
    """Scores every declared intent for a query.

    Args:
        manifests: Manifests of the loaded plugins.
        model: The trained intent classifier; without it, keywords and patterns alone decide.
    """

    def __init__(self, manifests: Iterable[PluginManifest], model: IntentModel | None = None) -> None:
        self.model = model
        self._keywords: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        self._examples: dict[str, list[frozenset[str]]] = defaultdict(list)
        self._patterns: dict[str, list[re.Pattern[str]]] = defaultdict(list)
        doc_freq: dict[str, set[str]] = defaultdict(set)
        declared: set[str] = set()
        for m in manifests:
            declared.update(m.intents)
            for intent, phrases in m.intents.items():
                for phrase in phrases:
                    words = frozenset(w for w in tokens(phrase) if w not in STOPWORDS)
                    if words:
                        self._examples[intent].append(words)
                        for w in words:
                            doc_freq[w].add(intent)
            for intent, kws in m.keywords.items():
                for kw in kws:
                    seq = tuple(tokens(kw))
                    if seq:
                        self._keywords[intent].append(seq)
                        for w in seq:
                            doc_freq[w].add(intent)
            for intent, rxs in m.patterns.items():
                self._patterns[intent].extend(re.compile(rx, re.IGNORECASE) for rx in rxs)
        n = max(1, len(set(self._examples) | set(self._keywords) | set(self._patterns)))
        # Words declared by one intent only are strong evidence; words every intent uses are noise.
        self._idf = {w: math.log(1 + n / len(intents)) for w, intents in doc_freq.items()}
        self.intents = sorted(set(self._examples) | set(self._keywords) | set(self._patterns))
        self._declared = frozenset(declared)

    def route(self, text: str, explicit: str | None = None) -> Route:
        """Pick the intent for ``text``; an ``explicit`` intent always wins."""
        if explicit:
            return Route(explicit, 1.0, {explicit: 1.0}, explicit=True)
        # Code is not language: a fenced Python block or "run this: ..." runs, whatever the
        # classifier would make of its words (it never saw code, so it must not be asked).
        if RUN_CODE_INTENT in self._declared and user_code(text) is not None:
            return Route(RUN_CODE_INTENT, 0.99, {RUN_CODE_INTENT: 0.99}, rule="user_code")
        if self.model is not None:
            return self._route_learned(text)
        scores = self.scores(text)
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        if not ranked or ranked[0][1] < MIN_SCORE:
            top = ranked[0][1] if ranked else 0.0
            return Route(FALLBACK_INTENT, round(min(0.5, 0.3 + top / 4), 3), scores, uncertain=True)
        best, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        margin = (top - second) / top
        confidence = 1 / (1 + math.exp(-(top - 1.5))) * (0.5 + 0.5 * margin)
        return Route(best, round(min(0.99, max(0.05, confidence)), 3), scores)

    def _route_learned(self, text: str) -> Route:
        assert self.model is not None
        keyword = self.scores(text)
        learned, coverage = self.model.analyse(text)
        if not keyword and coverage < MIN_COVERAGE:
            return Route(FALLBACK_INTENT, 0.3, {}, uncertain=True)
        # Only intents some loaded plugin serves can win; a user plugin's new intent has no
        # training examples yet, so keywords alone speak for it.
        combined = {
            intent: learned.get(intent, 0.0) + KEYWORD_WEIGHT * min(keyword.get(intent, 0.0), 6.0) / 6.0
            for intent in self.intents
        }
        probs = softmax(combined, self.model.temperature)
        ranked = list(probs.items())
        if not ranked:
            return Route(FALLBACK_INTENT, 0.3, {}, uncertain=True)
        best, top = ranked[0]
        rounded = {k: round(v, 4) for k, v in ranked}
        if top < MIN_PROBABILITY and best != FALLBACK_INTENT:
            return Route(FALLBACK_INTENT, round(top, 3), rounded, uncertain=True)
        alternatives: tuple[str, ...] = ()
        if len(ranked) > 1 and ranked[1][1] >= AMBIGUOUS_SECOND:
            alternatives = (best, ranked[1][0])
        return Route(best, round(min(0.99, top), 3), rounded, alternatives=alternatives)

    def scores(self, text: str) -> dict[str, float]:
        """Keyword and pattern score of every intent for ``text`` (0 when nothing matched)."""
        words = tokens(text)
        content = [w for w in words if w not in STOPWORDS]
        content_set = frozenset(content)
        joined = " " + " ".join(words) + " "
        out: dict[str, float] = {}
        for intent in self.intents:
            score = 0.0
            if any(rx.search(text) for rx in self._patterns.get(intent, ())):
                score += 3.0
            for seq in self._keywords.get(intent, ()):
                if len(seq) == 1:
                    hit = seq[0] in content_set or seq[0] in words
                else:
                    hit = " " + " ".join(seq) + " " in joined
                if hit:
                    score += sum(self._idf.get(w, 1.0) for w in seq) * (1.0 + 0.5 * (len(seq) - 1))
            best_example = 0.0
            for example in self._examples.get(intent, ()):
                shared = example & content_set
                if shared:
                    weight = sum(self._idf.get(w, 1.0) for w in shared)
                    total = sum(self._idf.get(w, 1.0) for w in example)
                    best_example = max(best_example, weight * (len(shared) / math.sqrt(total + 1e-9)) / 2)
            score += best_example
            if score > 0:
                out[intent] = round(score, 4)
        return out
