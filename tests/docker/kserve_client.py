"""The kserve SDK's REST client against a server: run by tests/docker/kserve_sdk.py inside
the SDK's own venv (the SDK pins protobuf < 7, layerlens' venv has 7), so it imports
nothing of layerlens. Reads ``{"url", "model", "input": {"name", "shape", "data"}}`` on
stdin and prints what the client saw as JSON."""

from __future__ import annotations

import asyncio
import json
import sys

import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig


async def main() -> dict:
    request = json.load(sys.stdin)
    url, model, spec = request["url"], request["model"], request["input"]
    config = RESTConfig(protocol="v2", retries=0, timeout=30)
    async with InferenceRESTClient(config) as client:
        tensor = InferInput(name=spec["name"], shape=spec["shape"], datatype="FP32")
        tensor.set_data_from_numpy(
            np.asarray(spec["data"], dtype=np.float32).reshape(spec["shape"])
        )
        answer = await client.infer(url, InferRequest(model, [tensor]), model_name=model)
        return {
            "live": await client.is_server_live(url),
            "ready": await client.is_server_ready(url),
            "model_ready": await client.is_model_ready(url, model),
            "model_name": answer.model_name,
            "outputs": {o.name: o.as_numpy().tolist() for o in answer.outputs},
        }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
