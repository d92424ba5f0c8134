"""``/docs`` works offline: the page and every file it loads come from the server itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from api_harness import Server


class _Links(HTMLParser):
    """The URLs a page loads: script sources, stylesheets and icons."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and ((tag == "script" and name == "src") or (tag == "link" and name == "href")):
                self.urls.append(value)


def test_docs_and_their_files_load_from_the_server_with_no_external_url(server: Server) -> None:
    with server.anonymous() as c:  # public, like /health: no key needed to read the docs
        page = c.get("/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE), html
        links = _Links()
        links.feed(html)
        assert len(links.urls) == 3, links.urls  # the script, the stylesheet, the icon
        loaded = {}
        for url in links.urls:
            full = urljoin(server.url + "/docs", url)
            assert (
                urlsplit(full).netloc
                == urlsplit(server.url).netloc
                == f"127.0.0.1:{server.url.rsplit(':', 1)[1]}"
            )
            r = c.get(full)
            assert r.status_code == 200, (url, r.status_code)
            loaded[url.rsplit("/", 1)[1]] = r
        js, css = loaded["swagger-ui-bundle.js"], loaded["swagger-ui.css"]
        assert js.headers["content-type"].startswith("text/javascript") and "SwaggerUIBundle" in js.text
        assert len(js.content) > 500_000  # the whole Swagger UI, not a stub
        assert css.headers["content-type"].startswith("text/css") and ".swagger-ui" in css.text
        assert loaded["favicon-32x32.png"].content.startswith(b"\x89PNG")
        # The spec the page asks for is served too.
        spec_url = re.search(r"url: '([^']+)'", html)
        assert spec_url is not None and c.get(spec_url.group(1)).json()["info"]["title"] == "FAME Desktop API"
        # Only the listed files: nothing else of the disk is reachable through the asset path.
        for other in ("README.md", "..%2F..%2Fpyproject.toml", "LICENSE"):
            assert c.get(f"/docs/assets/{other}").status_code == 404
    with server.client() as c:
        assert c.get("/redoc").status_code == 404  # ReDoc would load from a CDN: not offered
