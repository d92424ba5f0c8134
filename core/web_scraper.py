"""web_scraper: web search through a SearXNG instance, and page fetch with readable-text extraction."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from core._lib.readability import extract, summarise
from core._lib.url_guard import UrlRefused, check_url
from fame_plugin_api import HostSlot, PluginHost, error_result, request_text

if TYPE_CHECKING:
    # httpx loads with the first request (``host.http_client()`` imports it), not with the
    # plugin: it costs about 0.1 s, which every start-up paid, network on or off.
    import httpx

PLUGIN = {
    "schema_version": 1,
    "name": "web_scraper",
    "version": "1.0.0",
    "description": "Web search through a SearXNG instance, and fetching a web page to read or summarise "
    "its main text (public http(s) pages only).",
    "intents": {
        "web_search": [
            "search the web for python 3.12 release notes",
            "look up the history of the eiffel tower",
            "find articles about rust async runtimes",
            "google best budget mechanical keyboards",
            "fetch https://example.com",
            "read https://docs.python.org/3/whatsnew/3.12.html",
            "summarise https://en.wikipedia.org/wiki/Alan_Turing",
            "search online for news about the james webb telescope",
            "what does the internet say about sourdough starters",
        ],
    },
    "keywords": {
        "web_search": [
            "search",
            "search the web",
            "web search",
            "search online",
            "look up",
            "lookup",
            "google",
            "bing",
            "duckduckgo",
            "find articles",
            "find information",
            "find me",
            "news",
            "articles",
            "reviews",
            "wikipedia",
            "internet",
            "online",
            "web",
            "website",
            "webpage",
            "web page",
            "http",
            "https",
            "www",
            "fetch",
            "browse",
            "read this page",
            "summarize",
            "summarise",
            "headlines",
            "documentation",
            "tutorial",
            "tutorials",
        ],
    },
    "patterns": {"web_search": [r"\bhttps?://\S+", r"\bwww\.[a-z0-9-]+\.[a-z]{2,}"]},
    "needs_network": True,
    "timeout_seconds": 30,
}

_HOST = HostSlot("web_scraper")

MAX_RESULTS = 5
MAX_PAGE_BYTES = 2_000_000
MAX_REDIRECTS = 5
SHOWN_CHARS = 3_000
KEPT_CHARS = 20_000
HTML_TYPES = ("text/html", "application/xhtml+xml")

_URL_RE = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s<>\"']+|\bwww\.[a-z0-9-]+(?:\.[a-z0-9-]+)+[^\s<>\"']*", re.I)
_SEARCH_PREFIX = re.compile(
    r"^\s*(?:(?:please|can you|could you|hey fame|fame)[,\s]+)*"
    r"(?:search(?: the web| online| the internet)?(?: for)?|web search(?: for)?|look up|lookup|google|"
    r"find(?: me)?(?: information| info)?(?: about| on)?|"
    r"what does the (?:internet|web) say about|browse for)\s+",
    re.I,
)


def init(manager: PluginHost) -> None:
    """Keep the plugin context (no I/O here)."""
    _HOST.set(manager)


def url_in(text: str) -> str | None:
    """The first URL ``text`` names (``www.`` ones get https://), trailing punctuation stripped."""
    m = _URL_RE.search(text)
    if not m:
        return None
    url = m.group(0).rstrip(".,;:!?)]}")
    return url if "://" in url else f"https://{url}"


def search_query(text: str) -> str:
    """The search terms of ``text`` without the request around them."""
    query = _SEARCH_PREFIX.sub("", text.strip(), count=1)
    return query.strip(" ?.!\"'")


class _Problem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _http_problem(service: str, exc: httpx.HTTPError, setting: str) -> _Problem:
    import httpx  # loaded already: the request that failed made it

    if isinstance(exc, httpx.TimeoutException):
        return _Problem("upstream_timeout", f"{service} did not answer in time. Try again in a moment.")
    return _Problem(
        "upstream_unreachable",
        f"Cannot reach {service} ({exc}). Check the connection or the {setting} setting.",
    )


async def _search(host: PluginHost, text: str, query_id: str) -> dict[str, Any]:
    query = search_query(text)
    if not query:
        return error_result(
            "invalid_request", "Tell me what to search for, e.g. 'search the web for pyside6 tutorials'."
        )
    base = str(host.setting("services.searxng_url")).rstrip("/")
    host.progress(query_id, f"Searching for {query!r}")
    async with host.http_client(base_url=base) as client:
        import httpx  # loaded already by http_client()

        try:
            resp = await client.get("/search", params={"q": query, "format": "json"})
        except httpx.HTTPError as exc:
            p = _http_problem("The search service", exc, "services.searxng_url")
            return error_result(p.code, p.message)
    if resp.status_code == 429:
        return error_result(
            "rate_limited", "The SearXNG instance is rate limiting searches (HTTP 429). Try again later."
        )
    if resp.status_code == 403:
        return error_result(
            "upstream_error",
            f"The SearXNG instance at {base} refuses the JSON API (HTTP 403). Use an instance with the json "
            "format enabled (search.formats in its settings.yml) and set services.searxng_url to it.",
        )
    if resp.status_code >= 500:
        return error_result(
            "upstream_error",
            f"The search service had a server error (HTTP {resp.status_code}). Try again later.",
        )
    if resp.status_code != 200:
        return error_result(
            "upstream_error", f"The search service refused the request (HTTP {resp.status_code})."
        )
    try:
        body = resp.json()
    except ValueError:
        return error_result("upstream_error", f"The search service at {base} did not answer with JSON.")
    raw = body.get("results") if isinstance(body, dict) else None
    results = [
        {
            "title": str(r.get("title") or r.get("url")),
            "url": str(r["url"]),
            "content": re.sub(r"\s+", " ", str(r.get("content") or "")).strip(),
            "engine": str(r.get("engine") or ""),
        }
        for r in (raw if isinstance(raw, list) else [])
        if isinstance(r, dict) and isinstance(r.get("url"), str)
    ][:MAX_RESULTS]
    answers = (
        [str(a) for a in (body.get("answers") or []) if isinstance(a, str)] if isinstance(body, dict) else []
    )
    if not results and not answers:
        suggestions = body.get("suggestions") if isinstance(body, dict) else None
        hint = (
            f" Suggestions: {', '.join(map(str, suggestions[:3]))}."
            if isinstance(suggestions, list) and suggestions
            else ""
        )
        return {"response": f"No results for “{query}”.{hint}", "data": {"query": query, "results": []}}
    lines = [f"Top results for “{query}”:"]
    for a in answers[:1]:
        lines.append(f"\n> {a}")
    for i, r in enumerate(results, 1):
        snippet = r["content"][:220] + ("…" if len(r["content"]) > 220 else "")
        lines.append(f"\n{i}. [{r['title']}]({r['url']})" + (f"\n   {snippet}" if snippet else ""))
    return {"response": "\n".join(lines), "data": {"query": query, "results": results, "answers": answers}}


async def _download(client: httpx.AsyncClient, url: str) -> tuple[str, httpx.Response, bytes]:
    """GET ``url`` following redirects by hand (each hop re-checked), reading at most ``MAX_PAGE_BYTES``."""
    import httpx  # loaded already: the client is one

    for _ in range(MAX_REDIRECTS + 1):
        try:
            await check_url(url)
        except UrlRefused as exc:
            raise _Problem(exc.code, exc.message) from exc
        try:
            async with client.stream("GET", url, follow_redirects=False) as resp:
                if resp.is_redirect and "location" in resp.headers:
                    url = urljoin(url, resp.headers["location"])
                    continue
                if resp.status_code != 200:
                    raise _Problem("upstream_error", f"{url} answered HTTP {resp.status_code}.")
                ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype not in (*HTML_TYPES, "text/plain"):
                    raise _Problem(
                        "unsupported_content",
                        f"{url} is {ctype or 'of unknown type'}, not a web page; I can only read HTML and plain text.",
                    )
                length = resp.headers.get("content-length", "")
                if length.isdigit() and int(length) > MAX_PAGE_BYTES:
                    raise _Problem(
                        "too_large", f"{url} is {int(length) // 1_000_000} MB; pages are limited to 2 MB."
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_PAGE_BYTES:
                        raise _Problem("too_large", f"{url} is larger than 2 MB; pages are limited to 2 MB.")
                    chunks.append(chunk)
                return url, resp, b"".join(chunks)
        except httpx.HTTPError as exc:
            raise _http_problem("The page", exc, "network") from exc
    raise _Problem("upstream_error", f"Too many redirects (more than {MAX_REDIRECTS}).")


def _decode(resp: httpx.Response, body: bytes) -> str:
    charset = resp.charset_encoding
    if not charset:
        m = re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", body[:4096], re.I)
        charset = m.group(1).decode("ascii") if m else "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


async def _fetch(host: PluginHost, text: str, url: str) -> dict[str, Any]:
    want_summary = bool(re.search(r"\bsummar(?:y|ise|ize|ies)|tl;?dr|gist|headlines\b", text, re.I))
    async with host.http_client() as client:
        try:
            final_url, resp, body = await _download(client, url)
        except _Problem as exc:
            return error_result(exc.code, exc.message)
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    decoded = _decode(resp, body)
    if ctype == "text/plain":
        title, content = final_url, re.sub(r"\n{3,}", "\n\n", decoded).strip()
    else:
        page = extract(decoded)
        title, content = page.title or final_url, page.text
    if not content:
        return error_result("empty_page", f"{final_url} has no readable text (it may need JavaScript).")
    data: dict[str, Any] = {
        "url": final_url,
        "title": title,
        "text": content[:KEPT_CHARS],
        "truncated": len(content) > KEPT_CHARS,
        "chars": len(content),
    }
    if want_summary:
        sentences = summarise(content)
        data["summary"] = sentences
        body_md = "\n".join(f"- {s}" for s in sentences) or content[:SHOWN_CHARS]
        return {"response": f"**{title}** ({final_url})\n\nSummary:\n{body_md}", "data": data}
    shown = content[:SHOWN_CHARS] + (
        f"\n\n… ({len(content):,} characters in all)" if len(content) > SHOWN_CHARS else ""
    )
    return {"response": f"**{title}** ({final_url})\n\n{shown}", "data": data}


async def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Fetch the page the request names, or search the web for it."""
    host = _HOST.get()
    host.require_network("Web search and page fetching")
    text = request_text(request)
    url = url_in(text)
    if url is not None:
        host.progress(str(request.get("id", "")), f"Fetching {url}")
        return await _fetch(host, text, url)
    return await _search(host, text, str(request.get("id", "")))
