"""Whole-word phrase matching shared by the recipe library and the architecture knowledge base.

Text is lower-cased, split into words, stripped of filler words and lightly stemmed (plurals), so
"reverse the strings" and "reverse a string" meet, while "prime" never matches inside "primer".
A phrase matches when its words appear in order with at most two other words between them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_WORD = re.compile(r"[a-z0-9]+")

#: Words that carry no meaning for matching (kept short: "to", "from", "two" do carry meaning).
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "that",
        "which",
        "this",
        "my",
        "me",
        "i",
        "you",
        "your",
        "please",
        "can",
        "could",
        "would",
        "will",
        "should",
        "some",
        "given",
        "for",
        "in",
        "on",
        "with",
        "is",
        "are",
        "be",
        "it",
        "its",
        "and",
        "or",
        "code",
        "python",
        "function",
        "program",
        "script",
        "write",
        "implement",
        "implementation",
        "create",
        "make",
        "give",
        "show",
        "need",
        "want",
        "how",
        "do",
        "does",
        "snippet",
        "method",
        "helper",
        "using",
        "use",
        "little",
    ]
)

#: Words that must not be stemmed (a trailing "s" is part of the word).
_KEEP = frozenset(
    [
        "is",
        "its",
        "has",
        "was",
        "this",
        "less",
        "class",
        "process",
        "address",
        "bus",
        "access",
        "cqrs",
        "kubernetes",
    ]
)

#: Largest number of extra words allowed between a phrase's words.
MAX_GAP = 2


def stem(word: str) -> str:
    """A crude singular form: ``lists`` -> ``list``, ``queries`` -> ``query``, ``boxes`` -> ``box``."""
    if len(word) <= 3 or word in _KEEP or word.endswith("ss"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("xes", "ches", "shes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("us", "is")):
        return word[:-1]
    return word


def words(text: str, *, keep_stop_words: bool = False) -> list[str]:
    """The meaningful, stemmed words of ``text`` in order."""
    out = [stem(w) for w in _WORD.findall(text.lower().replace("'s", ""))]
    return out if keep_stop_words else [w for w in out if w not in STOP_WORDS]


def phrase_words(phrase: str) -> tuple[str, ...]:
    """A phrase's words as matched; stop words are kept when the phrase is nothing but stop words."""
    return tuple(words(phrase)) or tuple(words(phrase, keep_stop_words=True))


def phrase_span(tokens: Sequence[str], phrase: Sequence[str]) -> int | None:
    """Extra words between the phrase's words at its tightest match in ``tokens``, or None."""
    if not phrase:
        return None
    best: int | None = None
    limit = len(phrase) + MAX_GAP
    for start, token in enumerate(tokens):
        if token != phrase[0]:
            continue
        pos, i = start, 1
        while i < len(phrase):
            window = tokens[pos + 1 : start + limit]
            if phrase[i] not in window:
                break
            pos = pos + 1 + window.index(phrase[i])
            i += 1
        if i == len(phrase):
            gap = (pos - start + 1) - len(phrase)
            best = gap if best is None else min(best, gap)
    return best


def phrase_score(tokens: Sequence[str], phrases: Iterable[Sequence[str]]) -> float:
    """Best phrase match: its word count less a quarter per gap word (0 when none matches)."""
    best = 0.0
    for phrase in phrases:
        gap = phrase_span(tokens, phrase)
        if gap is not None:
            best = max(best, len(phrase) - 0.25 * gap)
    return best


def keyword_hits(tokens: Sequence[str], keywords: Iterable[Sequence[str]]) -> int:
    """How many of the keywords (single words or short phrases) occur, whole-word and contiguous."""
    joined = " " + " ".join(tokens) + " "
    return sum(1 for k in keywords if k and f" {' '.join(k)} " in joined)
