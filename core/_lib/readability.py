"""Readable text from HTML with the standard library's parser: title plus main content.

Scripts, styles, navigation, headers, footers, asides, forms and other chrome are dropped; when the
page marks its main content (``<main>``, ``<article>`` or ``role="main"``) only that is kept.
Also a small extractive summariser (sentences scored by word frequency).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser

SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "nav", "footer", "header", "aside", "form", "svg", "iframe", "template",
     "button", "select", "canvas", "object", "embed", "head"}
)  # fmt: skip
BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "main", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
     "blockquote", "pre", "table", "tr", "td", "th", "dd", "dt", "figcaption", "hr"}
)  # fmt: skip
VOID_TAGS = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "source", "wbr"})


@dataclass(frozen=True)
class Page:
    """What was readable on a page."""

    title: str
    text: str
    used_main: bool


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self._in_title = False
        self._skip = 0
        self._main_depth = 0
        self.all_parts: list[str] = []
        self.main_parts: list[str] = []
        self.saw_main = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS:
            if tag == "br" and not self._skip:
                self._emit("\n")
            return
        if tag == "title":
            self._in_title = True
        attr = dict(attrs)
        hidden = "hidden" in attr or (attr.get("aria-hidden") == "true")
        if (
            self._skip
            or tag in SKIP_TAGS
            or hidden
            or attr.get("role") in ("navigation", "banner", "contentinfo")
        ):
            self._skip += 1
            return
        if self._main_depth or tag in ("main", "article") or attr.get("role") == "main":
            self._main_depth += 1
            self.saw_main = True
        if tag in BLOCK_TAGS:
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS:
            return
        if tag == "title":
            self._in_title = False
        if self._skip:
            self._skip -= 1
            return
        if tag in BLOCK_TAGS:
            self._emit("\n")
        if self._main_depth:
            self._main_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if not self._skip:
            self._emit(data)

    def _emit(self, text: str) -> None:
        self.all_parts.append(text)
        if self._main_depth:
            self.main_parts.append(text)


def _tidy(parts: list[str]) -> str:
    text = "".join(parts)
    lines = [re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line:
            out.append(line)
        elif out and out[-1] != "":
            out.append("")
    return "\n".join(out).strip()


def extract(html: str) -> Page:
    """Title and readable text of ``html``."""
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    main = _tidy(parser.main_parts) if parser.saw_main else ""
    text = main or _tidy(parser.all_parts)
    return Page(title=re.sub(r"\s+", " ", parser.title).strip(), text=text, used_main=bool(main))


_STOP_WORDS = (
    "a an the and or but if of to in on at by for with from as is are was were be been it its this that these "
    "those we you they he she i our your their his her not no so than then there here can will would could "
    "should may might also into about over more most such which who what when where how all any each"
)
_STOP = frozenset(_STOP_WORDS.split())


def summarise(text: str, max_sentences: int = 5) -> list[str]:
    """The ``max_sentences`` most representative sentences, in their original order."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.strip()) > 30]
    if len(sentences) <= max_sentences:
        return sentences
    words = [w for w in re.findall(r"[a-z][a-z'-]+", text.lower()) if w not in _STOP]
    freq = Counter(words)
    if not freq:
        return sentences[:max_sentences]
    top = max(freq.values())

    def score(sentence: str) -> float:
        tokens = [w for w in re.findall(r"[a-z][a-z'-]+", sentence.lower()) if w not in _STOP]
        return sum(freq[w] / top for w in tokens) / (math.sqrt(len(tokens)) + 1)

    ranked = sorted(range(len(sentences)), key=lambda i: (-score(sentences[i]), i))[:max_sentences]
    return [sentences[i] for i in sorted(ranked)]
