"""The gRPC ceiling: a grpc.aio server that parses the same ModelInferRequest as layerlens
and answers a constant response, with as many worker processes as layerlens (SO_REUSEPORT).

    python -m benchmarks.apps.grpc_ceiling PORT WORKERS

What it measures: gRPC's own cost per call in Python (HTTP/2, protobuf parse and
serialize, the event loop), against which the real servicer's overhead is judged.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys

import grpc
import numpy as np

from service.grpc.protocol import METHODS, SERVICE_NAME, messages

#: The answer: ten FP32 probabilities, as layerlens sends for one digits image.
_PROBABILITIES = np.full((1, 10), 0.1, dtype="<f4")


def _constant_response() -> bytes:
    response = messages.ModelInferResponse(model_name="digits", model_version="1")
    response.outputs.add(name="probabilities", datatype="FP32", shape=[1, 10])
    response.raw_output_contents.append(_PROBABILITIES.tobytes())
    return response.SerializeToString()


async def _serve(port: int) -> None:
    constant = _constant_response()
    request_cls = METHODS["ModelInfer"][0]

    async def infer(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        request_cls.FromString(request)  # parse it, as the real servicer must
        return constant

    def ready(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return messages.ServerReadyResponse(ready=True).SerializeToString()

    server = grpc.aio.server(options=[("grpc.so_reuseport", 1)])
    handlers = {
        "ModelInfer": grpc.unary_unary_rpc_method_handler(infer),
        "ServerReady": grpc.unary_unary_rpc_method_handler(ready),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def _worker(port: int) -> None:
    asyncio.run(_serve(port))


def main() -> None:
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    processes = [multiprocessing.Process(target=_worker, args=(port,)) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()


if __name__ == "__main__":
    main()
