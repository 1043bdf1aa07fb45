"""The lens: the web page served at ``/`` and the self-hosted API docs.

Everything a browser loads from this service ships in ``static/``: the page's own plain ES
modules and stylesheet, and the vendored Swagger UI and Redoc bundles that ``/docs`` and
``/redoc`` use instead of a CDN, so all of it works with no network beyond this origin.
The page is a client of the public API like any other (``static/js/api.js``); this module
only serves files.
"""

from service.page.routes import STATIC_DIR, router

__all__ = ["STATIC_DIR", "router"]
