"""The Open Inference Protocol (KServe v2) over gRPC, beside the HTTP API.

``GrpcFrontDoor`` is what the app's lifespan starts and stops; the rest is inside:
``protocol`` (the messages, from ``inference.proto``), ``servicer`` (the six calls),
``tensors`` (requests and answers at the tensor level), ``status`` (errors as status
codes), ``health`` (grpc.health.v1 following readiness), ``metrics``.
"""

from service.grpc.server import GrpcFrontDoor

__all__ = ["GrpcFrontDoor"]
