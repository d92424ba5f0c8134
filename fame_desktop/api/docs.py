"""``/docs``: Swagger UI served by the API itself from ``resources/api_docs/``, so it works offline.

FastAPI's default page loads Swagger UI from a CDN and stays blank without the internet; this is
FastAPI's self-hosting recipe with the files shipped in ``resources/`` (and in the packaged build).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from fame_desktop.orchestrator.paths import resource_root

DOCS_PATH = "/docs"
ASSETS_PREFIX = "/docs/assets/"
# The only files served: a fixed list, so no path from the request reaches the file system.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def add_docs(api: FastAPI) -> None:
    """Serve the Swagger UI page and its files (create ``api`` with ``docs_url=None``)."""
    folder = resource_root() / "api_docs"

    @api.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=api.openapi_url or "/openapi.json",
            title=f"{api.title} - docs",
            swagger_js_url=ASSETS_PREFIX + "swagger-ui-bundle.js",
            swagger_css_url=ASSETS_PREFIX + "swagger-ui.css",
            swagger_favicon_url=ASSETS_PREFIX + "favicon-32x32.png",
            oauth2_redirect_url=DOCS_PATH + "/oauth2-redirect",
            # No request to the public spec validator either.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @api.get(DOCS_PATH + "/oauth2-redirect", include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @api.get(ASSETS_PREFIX + "{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        media_type = ASSETS.get(name)
        if media_type is None:
            return Response(status_code=404)
        return FileResponse(
            folder / name, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
        )
