"""The HTTP ceiling: same server stack and route as layerlens, parses the body, no model.

FastAPI under uvicorn (same workers, uvloop, httptools), the body decoded with orjson -
the fastest JSON parse available to both - and a constant answer. Nothing a real
service does can be faster than this, so it is the yardstick for our fast path.
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request, Response

ANSWER = orjson.dumps({"predictions": [{"class_id": 0, "label": "0", "probability": 1.0}]})


def app_with_ready_route() -> FastAPI:
    """A bare FastAPI app with the route the benchmark polls until the server is up."""
    app = FastAPI()

    @app.get("/ready")
    async def ready() -> Response:
        return Response(b"ok")

    return app


def create_app() -> FastAPI:
    app = app_with_ready_route()

    @app.post("/v1/models/digits:predict")
    async def predict(request: Request) -> Response:
        body = orjson.loads(await request.body())
        if not body.get("instances"):
            return Response(b'{"error": "no instances"}', status_code=400)
        return Response(ANSWER, media_type="application/json")

    return app
