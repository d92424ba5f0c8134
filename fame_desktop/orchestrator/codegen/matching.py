"""Whole-word phrase matching shared by the recipe library and the architecture knowledge base.

Text is lower-cased, split into words, stripped of filler words and lightly stemmed (plurals), so
"reverse the strings" and "reverse a string" meet, while "prime" never matches inside "primer".
A phrase matches when its words appear in order with at most two other words between them.

Request verbs ("write", "implement", "python"...) are dropped too, except from a phrase that would
otherwise shrink to one word: "implement a stack" must not match any text that mentions "stack".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Words that never carry meaning here ("to", "from", "two", "by" do, so they stay).
FILLER = _wordset(
    "a an the of that which this these those my me i we you your our their his her it its "
    "please can could would will should some given for in on with is are be and or do does "
    "how what so just"
)

#: Words that say "write me code" rather than what the code does.
ACTION = _wordset(
    "code python function program script write implement implementation create make give show "
    "need want snippet method helper using use little build"
)

#: Words that must not be stemmed (a trailing "s" is part of the word).
_KEEP = _wordset("is its has was this less class process address bus access cqrs kubernetes")

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


def words(text: str, *, keep_actions: bool = False) -> list[str]:
    """The meaningful, stemmed words of ``text`` in order (action words kept on request)."""
    out = [stem(w) for w in _WORD.findall(text.lower().replace("'s", ""))]
    drop = FILLER if keep_actions else FILLER | ACTION
    return [w for w in out if w not in drop]


@dataclass(frozen=True)
class Phrase:
    """A phrase as matched: its words, and whether they include action words."""

    words: tuple[str, ...]
    with_actions: bool = False

    def __len__(self) -> int:
        return len(self.words)


@dataclass(frozen=True)
class Tokens:
    """A request's words in both forms (with and without action words)."""

    plain: tuple[str, ...]
    with_actions: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Tokens:
        return cls(tuple(words(text)), tuple(words(text, keep_actions=True)))

    def for_phrase(self, phrase: Phrase) -> tuple[str, ...]:
        return self.with_actions if phrase.with_actions else self.plain


def phrase_words(phrase: str) -> Phrase:
    """How a phrase is matched: without action words, unless that leaves a single word."""
    plain = tuple(words(phrase))
    if len(plain) >= 2:
        return Phrase(plain)
    full = tuple(words(phrase, keep_actions=True))
    if len(full) > len(plain):
        return Phrase(full, with_actions=True)
    return Phrase(plain or tuple(_WORD.findall(phrase.lower())))


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


def phrase_score(tokens: Tokens, phrases: Iterable[Phrase]) -> float:
    """Best phrase match: its word count less a quarter per gap word (0 when none matches).

    A phrase that needs its action word scores as if it were one word long: the action word
    ("implement") says nothing about which task is meant.
    """
    best = 0.0
    for phrase in phrases:
        gap = phrase_span(tokens.for_phrase(phrase), phrase.words)
        if gap is not None:
            size = 1 if phrase.with_actions else len(phrase)
            best = max(best, size - 0.25 * gap)
    return best


def keyword_hits(tokens: Tokens, keywords: Iterable[Phrase]) -> int:
    """How many keywords (single words or short phrases) occur, whole-word and contiguous."""
    hits = 0
    for keyword in keywords:
        joined = " " + " ".join(tokens.for_phrase(keyword)) + " "
        if keyword.words and f" {' '.join(keyword.words)} " in joined:
            hits += 1
    return hits
