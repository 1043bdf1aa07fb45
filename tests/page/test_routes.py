"""The page and the API docs are served from this origin only, with no build step.

Every file the page loads (the HTML, every ES module it imports, transitively) and every
asset of ``/docs`` and ``/redoc`` must resolve on the service itself.
"""

from __future__ import annotations

import re

import httpx

from service.page import STATIC_DIR

#: The issue's budget for the page's own JS and CSS (not the vendored docs bundles).
PAGE_BUDGET_BYTES = 300 * 1024
_REFERENCE = re.compile(r"""(?:src|href)="([^"#]+)\"""")
_IMPORT = re.compile(r"""(?:from\s+|import\s*\(\s*)["'](\.{1,2}/[^"']+)["']""")


def _resolve(base: str, relative: str) -> str:
    parts = base.rsplit("/", 1)[0].split("/")
    for piece in relative.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def test_the_page_and_every_module_it_imports_are_served(api: httpx.Client) -> None:
    page = api.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    pending = [ref for ref in _REFERENCE.findall(page.text) if ref.startswith("/static/")]
    assert "/static/js/app.js" in pending
    seen: set[str] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        response = api.get(path)
        assert response.status_code == 200, path
        if path.endswith(".js"):
            assert response.headers["content-type"].startswith("text/javascript"), path
            pending += [_resolve(path, rel) for rel in _IMPORT.findall(response.text)]
    modules = {f"/static/{p.relative_to(STATIC_DIR)}" for p in (STATIC_DIR / "js").rglob("*.js")}
    assert modules <= seen, f"modules no view imports: {modules - seen}"


def test_docs_and_redoc_load_only_local_assets(api: httpx.Client) -> None:
    for path in ("/docs", "/redoc"):
        page = api.get(path)
        assert page.status_code == 200, path
        references = _REFERENCE.findall(page.text)
        assert references, path
        for ref in references:
            assert ref.startswith("/"), f"{path} loads {ref} from elsewhere"
            assert api.get(ref).status_code == 200, ref
        assert "http://" not in page.text.replace("http://www.w3.org", "")
        assert "https://" not in page.text
    assert api.get("/openapi.json").status_code == 200


def test_files_outside_the_static_folder_are_not_served(api: httpx.Client) -> None:
    for path in ("/static/../routes.py", "/static/%2e%2e/routes.py", "/static/nothing.js"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert "error" in response.json()


def test_the_pages_own_js_and_css_fit_the_budget() -> None:
    own = [
        p
        for p in STATIC_DIR.rglob("*")
        if p.suffix in {".js", ".css"} and "vendor" not in p.relative_to(STATIC_DIR).parts
    ]
    assert len(own) >= 10
    assert sum(p.stat().st_size for p in own) <= PAGE_BUDGET_BYTES
