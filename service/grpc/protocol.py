"""The Open Inference Protocol's gRPC messages, built from the committed descriptor.

Why not ordinary generated ``*_pb2`` modules: those register ``inference.ModelInferRequest``
and friends in protobuf's process-wide default pool, and tritonclient.grpc, MLServer and the
kserve SDK each register the same names from their own copies of the protocol, so a process
that imports both (the tests, the benchmark, a user's gateway) fails with "duplicate symbol".
Here the descriptor goes into a private pool instead; the classes are real protobuf message
classes, identical on the wire. Generated modules would also pin the protobuf runtime they
were made with; the serialized descriptor (service.grpc.descriptor) loads under any.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from service.grpc.descriptor import SERIALIZED

__all__ = ["METHODS", "POOL", "SERVICE_NAME", "Messages", "messages"]

SERVICE_NAME = "inference.GRPCInferenceService"
PACKAGE = "inference"

#: A pool of our own (see the module docstring); server reflection answers from it.
POOL = descriptor_pool.DescriptorPool()
_FILE = POOL.Add(descriptor_pb2.FileDescriptorProto.FromString(SERIALIZED))


class Messages:
    """Message classes by name: ``messages.ModelInferRequest()``."""

    def __init__(self, pool: descriptor_pool.DescriptorPool) -> None:
        self._pool = pool
        self._classes: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        cls = self._classes.get(name)
        if cls is None:
            cls = message_factory.GetMessageClass(
                self._pool.FindMessageTypeByName(f"{PACKAGE}.{name}")
            )
            self._classes[name] = cls
        return cls


messages = Messages(POOL)

#: RPC name -> (request class, response class), from the service's own descriptor.
METHODS: dict[str, tuple[Any, Any]] = {
    method.name: (
        message_factory.GetMessageClass(method.input_type),
        message_factory.GetMessageClass(method.output_type),
    )
    for method in POOL.FindServiceByName(SERVICE_NAME).methods
}
