"""Routes that answer like a SearXNG instance's JSON API and like ordinary web pages."""

from __future__ import annotations

import re

from fakes.http_fake import Reply, Route

# Shape copied from a real SearXNG /search?format=json answer (trimmed to the fields clients use).
SEARX_RESULTS = {
    "query": "pyside6 tutorials",
    "number_of_results": 0,
    "results": [
        {
            "url": "https://doc.qt.io/qtforpython-6/tutorials/index.html",
            "title": "Tutorials - Qt for Python",
            "content": "A collection of tutorials with walkthrough guides are provided with Qt for Python to help "
            "new users get started. Some of these documents were ported from C++ to Python.",
            "engine": "duckduckgo",
            "parsed_url": ["https", "doc.qt.io", "/qtforpython-6/tutorials/index.html", "", "", ""],
            "template": "default.html",
            "engines": ["duckduckgo", "google"],
            "positions": [1, 2],
            "score": 4.0,
            "category": "general",
        },
        {
            "url": "https://www.pythonguis.com/pyside6-tutorial/",
            "title": "PySide6 Tutorial 2024, Create Python GUIs with Qt",
            "content": "PySide6 tutorial: create desktop applications with Python and Qt6.   Step by step.",
            "engine": "google",
            "parsed_url": ["https", "www.pythonguis.com", "/pyside6-tutorial/", "", "", ""],
            "template": "default.html",
            "engines": ["google"],
            "positions": [1],
            "score": 1.0,
            "category": "general",
        },
    ]
    + [
        {
            "url": f"https://example.org/result-{i}",
            "title": f"Result {i}",
            "content": "",
            "engine": "bing",
            "engines": ["bing"],
            "score": 0.1,
            "category": "general",
        }
        for i in range(3, 9)
    ],
    "answers": [],
    "corrections": [],
    "infoboxes": [],
    "suggestions": ["pyside6 tutorial pdf", "pyside6 vs pyqt6"],
    "unresponsive_engines": [["brave", "timeout"]],
}
EMPTY = {"query": "", "number_of_results": 0, "results": [], "answers": [], "corrections": [], "infoboxes": [],
         "suggestions": ["did you mean this"], "unresponsive_engines": []}  # fmt: skip

ARTICLE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>The Turing Test &amp; Its Critics</title>
<style>body { color: red }</style><script>var tracking = "SECRET-TRACKER";</script></head>
<body>
<header><a href="/">Home</a> | <a href="/about">About us</a></header>
<nav><ul><li>Menu item one</li><li>Menu item two</li></ul></nav>
<main>
<h1>The Turing Test</h1>
<p>Alan Turing proposed the imitation game in 1950 as a test of machine intelligence.</p>
<p>In the game, an interrogator questions a machine and a human through text alone.</p>
<p>Critics argue that passing the test shows imitation, not understanding of meaning.</p>
<p>John Searle's Chinese room argument is the best known objection to the test.</p>
<p>Others reply that the test remains a useful, practical benchmark for conversation.</p>
<p>Modern language models have revived the debate about what the test really measures.</p>
<p>Caf&eacute; conversations about machines rarely settle the question.</p>
</main>
<aside>Related: buy our newsletter</aside>
<footer>Copyright 2024 Example Corp. All rights reserved.</footer>
</body></html>"""


def _search(query: dict[str, str], _m: re.Match[str]) -> Reply:
    if query.get("format") != "json":
        return Reply(403, "Forbidden", content_type="text/html")
    q = query.get("q", "")
    if q == "pyside6 tutorials":
        return Reply(200, SEARX_RESULTS)
    return Reply(200, {**EMPTY, "query": q})


def _article(_q: dict[str, str], _m: re.Match[str]) -> Reply:
    return Reply(200, ARTICLE, content_type="text/html; charset=utf-8")


def _latin1(_q: dict[str, str], _m: re.Match[str]) -> Reply:
    html = (
        "<html><head><title>Cr\xe8me</title></head><body><p>Cr\xe8me br\xfbl\xe9e recipe.</p></body></html>"
    )
    return Reply(200, html.encode("latin-1"), content_type="text/html; charset=iso-8859-1")


def _plain(_q: dict[str, str], _m: re.Match[str]) -> Reply:
    return Reply(200, "Plain notes.\n\n\n\nSecond paragraph.", content_type="text/plain")


def _image(_q: dict[str, str], _m: re.Match[str]) -> Reply:
    return Reply(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png")


def _big(_q: dict[str, str], _m: re.Match[str]) -> Reply:
    return Reply(200, "<html><body>" + "<p>spam</p>" * 300_000 + "</body></html>", content_type="text/html")


def _redirect(query: dict[str, str], _m: re.Match[str]) -> Reply:
    return Reply(302, "", content_type="text/html", headers={"Location": query.get("to", "/article.html")})


def _script_only(_q: dict[str, str], _m: re.Match[str]) -> Reply:
    return Reply(200, "<html><body><script>render()</script></body></html>", content_type="text/html")


SEARX_ROUTES: dict[str, Route] = {r"/search": _search}
PAGE_ROUTES: dict[str, Route] = {
    r"/article\.html": _article,
    r"/latin1\.html": _latin1,
    r"/notes\.txt": _plain,
    r"/logo\.png": _image,
    r"/big\.html": _big,
    r"/redirect": _redirect,
    r"/app\.html": _script_only,
}
