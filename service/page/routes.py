"""``/`` (the page), ``/static/...`` (its assets) and ``/docs`` + ``/redoc`` on local assets.

FastAPI's own docs pages load Swagger UI and Redoc from a CDN and are therefore blank on a
machine without internet; the app is created with ``docs_url=None, redoc_url=None`` and
these routes serve the same pages on the vendored copies (versions in
``static/vendor/VERSIONS.md``).
"""

from __future__ import annotations

import html
import mimetypes
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import FileResponse, HTMLResponse

from service.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/static"
FAVICON = f"{STATIC_PREFIX}/favicon.svg"
#: The page's own files change with the code; a short cache lets a reload pick them up,
#: ETag/Last-Modified (FileResponse) keep the revalidation cheap.
CACHE_CONTROL = "public, max-age=60"

# Module scripts must be served as JavaScript (some systems map .js to text/plain).
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("image/svg+xml", ".svg")

router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": CACHE_CONTROL})


@router.api_route(STATIC_PREFIX + "/{path:path}", methods=["GET", "HEAD"])
async def static_file(path: Annotated[str, PathParam()]) -> FileResponse:
    """One file under ``static/``; anything outside it (``..``, absolute) is a 404, and so is
    a name no file system takes (a NUL byte, a name too long), which ``resolve`` refuses."""
    try:
        target = (STATIC_DIR / path).resolve()
        found = target.is_relative_to(STATIC_DIR) and target.is_file()
    except (ValueError, OSError):
        found = False
    if not found:
        raise NotFound(f"no page asset {path[:80]!r}")
    return FileResponse(target, headers={"Cache-Control": CACHE_CONTROL})


#: FastAPI's Swagger UI page starts the UI with an inline script, which the docs pages'
#: Content-Security-Policy (service.guard) forbids; this one loads a shipped start file.
SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link type="text/css" rel="stylesheet" href="{static}/vendor/swagger-ui/swagger-ui.css">
<link rel="shortcut icon" href="{favicon}">
<title>{title} - Swagger UI</title>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{static}/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="{static}/docs/swagger-init.js"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    return HTMLResponse(
        SWAGGER_PAGE.format(
            static=STATIC_PREFIX,
            favicon=FAVICON,
            title=html.escape(request.app.title),
            openapi_url=html.escape(request.app.openapi_url),
        )
    )


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{STATIC_PREFIX}/vendor/redoc/redoc.standalone.js",
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )
