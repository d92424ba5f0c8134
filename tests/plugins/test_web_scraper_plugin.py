"""web_scraper against real HTTP servers on 127.0.0.1: a SearXNG JSON API and ordinary web pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fakes.http_fake import FakeServer, serve
from fakes.web_fake import PAGE_ROUTES, SEARX_ROUTES
from plugin_harness import Harness

from core._lib.readability import extract, summarise
from fame_desktop.orchestrator.errors import NetworkDisabled


@pytest.fixture
def searx() -> Iterator[FakeServer]:
    with serve(SEARX_ROUTES) as server:
        yield server


@pytest.fixture
def site() -> Iterator[FakeServer]:
    with serve(PAGE_ROUTES) as server:
        yield server


@pytest.fixture
def web(plugin: Callable[..., Harness], searx: FakeServer) -> Harness:
    h = plugin("web_scraper")
    h.settings(network__allow_network=True, services__searxng_url=searx.url)
    return h


async def test_search_shows_the_top_results(web: Harness, searx: FakeServer) -> None:
    result = await web.ask("search the web for pyside6 tutorials", "web_search")
    assert searx.requests == ["/search?q=pyside6+tutorials&format=json"]
    text = result["response"]
    assert text.startswith("Top results for “pyside6 tutorials”")
    assert "1. [Tutorials - Qt for Python](https://doc.qt.io/qtforpython-6/tutorials/index.html)" in text
    assert "create desktop applications with Python and Qt6. Step by step." in text
    assert len(result["data"]["results"]) == 5
    assert "Result 6" not in text


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("look up pyside6 tutorials", "pyside6 tutorials"),
        ("google the best hiking trails near denver", "the best hiking trails near denver"),
        ("find me news about the mars rover", "news about the mars rover"),
        ("what does the internet say about rust vs go?", "rust vs go"),
        ("web search for cheap flights to lisbon", "cheap flights to lisbon"),
    ],
)
async def test_search_terms_are_taken_from_the_request(
    web: Harness, searx: FakeServer, text: str, query: str
) -> None:
    result = await web.ask(text, "web_search")
    assert result["data"]["query"] == query


async def test_no_results_says_so_with_suggestions(web: Harness) -> None:
    result = await web.ask("search for zzqq nothing", "web_search")
    assert result["response"] == "No results for “zzqq nothing”. Suggestions: did you mean this."


@pytest.mark.parametrize(
    ("status", "code", "fragment"),
    [(429, "rate_limited", "HTTP 429"), (502, "upstream_error", "HTTP 502"), (403, "upstream_error", "json")],
)
async def test_search_errors_are_explained(
    web: Harness, searx: FakeServer, status: int, code: str, fragment: str
) -> None:
    searx.forced.status = status
    result = await web.ask("search for pyside6 tutorials", "web_search")
    assert result["error"]["code"] == code
    assert fragment in result["error"]["message"]


async def test_slow_search_times_out(web: Harness, searx: FakeServer) -> None:
    web.settings(services__http_timeout_seconds=0.3)
    searx.forced.delay = 1.5
    result = await web.ask("search for pyside6 tutorials", "web_search")
    assert result["error"]["code"] == "upstream_timeout"


async def test_fetch_extracts_title_and_main_text(web: Harness, site: FakeServer) -> None:
    result = await web.ask(f"read {site.url}/article.html", "web_search")
    data = result["data"]
    assert data["title"] == "The Turing Test & Its Critics"
    assert data["text"].startswith("The Turing Test\n\nAlan Turing proposed the imitation game in 1950")
    assert "Café conversations" in data["text"]
    for chrome in ["SECRET-TRACKER", "color: red", "Menu item", "About us", "newsletter", "Copyright"]:
        assert chrome not in data["text"]
    assert result["response"].startswith(f"**The Turing Test & Its Critics** ({site.url}/article.html)")


async def test_summarise_picks_representative_sentences(web: Harness, site: FakeServer) -> None:
    result = await web.ask(f"summarize the webpage at {site.url}/article.html", "web_search")
    summary = result["data"]["summary"]
    assert 1 <= len(summary) <= 5
    assert all(s in result["data"]["text"] for s in summary)
    assert "Summary:" in result["response"]


async def test_charset_and_plain_text_are_decoded(web: Harness, site: FakeServer) -> None:
    latin = await web.ask(f"fetch {site.url}/latin1.html", "web_search")
    assert latin["data"]["title"] == "Crème" and "Crème brûlée recipe." in latin["data"]["text"]
    plain = await web.ask(f"fetch {site.url}/notes.txt", "web_search")
    assert plain["data"]["text"] == "Plain notes.\n\nSecond paragraph."


async def test_redirects_are_followed_and_rechecked(web: Harness, site: FakeServer) -> None:
    ok = await web.ask(f"fetch {site.url}/redirect", "web_search")
    assert ok["data"]["url"] == f"{site.url}/article.html"
    bad = await web.ask(
        f"fetch {site.url}/redirect?to=http://169.254.169.254/latest/meta-data/", "web_search"
    )
    assert bad["error"]["code"] == "blocked_address"


@pytest.mark.parametrize(
    ("path", "code", "fragment"),
    [
        ("/logo.png", "unsupported_content", "image/png, not a web page"),
        ("/big.html", "too_large", "limited to 2 MB"),
        ("/app.html", "empty_page", "JavaScript"),
        ("/missing", "upstream_error", "HTTP 404"),
    ],
)
async def test_fetch_problems_are_explained(
    web: Harness, site: FakeServer, path: str, code: str, fragment: str
) -> None:
    result = await web.ask(f"fetch {site.url}{path}", "web_search")
    assert result["error"]["code"] == code
    assert fragment in result["error"]["message"]


async def test_slow_page_times_out(web: Harness, site: FakeServer) -> None:
    web.settings(services__http_timeout_seconds=0.3)
    site.forced.delay = 1.5
    site.forced.status = 200
    result = await web.ask(f"fetch {site.url}/article.html", "web_search")
    assert result["error"]["code"] == "upstream_timeout"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://10.0.0.5/admin", "blocked_address"),
        ("http://192.168.1.1/", "blocked_address"),
        ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
        ("http://127.0.0.2:8080/", "blocked_address"),
        ("http://[fd00::1]/", "blocked_address"),
        ("http://0.0.0.0/", "blocked_address"),
        ("file:///etc/passwd", "invalid_url"),
        ("ftp://example.com/file", "invalid_url"),
    ],
)
async def test_non_public_addresses_are_refused(web: Harness, url: str, code: str) -> None:
    result = await web.ask(f"fetch {url}", "web_search")
    assert result["error"]["code"] == code


async def test_network_off_raises_network_disabled(plugin: Callable[..., Harness]) -> None:
    with pytest.raises(NetworkDisabled):
        await plugin("web_scraper").ask("search the web for anything", "web_search")


def test_extract_falls_back_to_body_without_main() -> None:
    page = extract(
        "<html><title> A  page </title><body><nav>x</nav><div>Hello <b>world</b></div></body></html>"
    )
    assert (page.title, page.text, page.used_main) == ("A page", "Hello world", False)


def test_summarise_keeps_short_texts_whole() -> None:
    text = "This is the only sentence that is long enough here."
    assert summarise(text) == [text]
