"""A second, idiomatic ceiling: the body declared as a pydantic model, as FastAPI's docs do.

Same server stack and route as ``ceiling.py``; FastAPI reads the body and validates it
into ``list[list[list[float]]]`` before the endpoint returns a constant. The issue's
figure of about 4,300 requests/s for "a bare FastAPI endpoint that only parses a
784-float JSON body" is this kind of endpoint. It is reported for context only: the
acceptance ratio is taken against the faster orjson ceiling.
"""

from __future__ import annotations

from fastapi import FastAPI, Response
from pydantic import BaseModel

from benchmarks.apps.ceiling import ANSWER, app_with_ready_route


class PredictBody(BaseModel):
    instances: list[list[list[float]]]


def create_app() -> FastAPI:
    app = app_with_ready_route()

    @app.post("/v1/models/digits:predict")
    async def predict(body: PredictBody) -> Response:
        return Response(ANSWER, media_type="application/json")

    return app
