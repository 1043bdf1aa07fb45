"""The naive service: what a first FastAPI wrapper around a Keras model looks like.

A pydantic body, ``model.predict`` per request (Keras' batch loop and callbacks every
time), FastAPI's default JSON response. It serves the same SavedModel as layerlens,
wrapped in Keras with ``TFSMLayer``. The benchmark passes the path in
``BENCH_SAVED_MODEL`` (this app is a stand-in, not part of layerlens, so it does not
use layerlens' settings).
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel


class PredictRequest(BaseModel):
    instances: list[list[list[float]]] | list[list[float]]


def load_model(path: str):
    import keras

    layer = keras.layers.TFSMLayer(path, call_endpoint="predict")
    inputs = keras.Input((28, 28))
    return keras.Model(inputs, layer(inputs))


def create_app() -> FastAPI:
    state: dict[str, object] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state["model"] = load_model(os.environ["BENCH_SAVED_MODEL"])
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/ready")
    def ready() -> dict[str, bool]:
        return {"ready": "model" in state}

    @app.post("/v1/models/digits:predict")
    def predict(request: PredictRequest) -> dict[str, list[dict[str, object]]]:
        x = np.asarray(request.instances, dtype=np.float32).reshape(-1, 28, 28)
        out = state["model"].predict(x, verbose=0)  # type: ignore[attr-defined]
        probabilities = out["probabilities"]
        return {
            "predictions": [
                {
                    "class_id": int(p.argmax()),
                    "probability": float(p.max()),
                    "probabilities": p.tolist(),
                }
                for p in probabilities
            ]
        }

    return app
