"""The data plane between HTTP routes and the model runtime."""

from service.dataplane.inputs import Payload
from service.dataplane.plane import DataPlane

__all__ = ["DataPlane", "Payload"]
