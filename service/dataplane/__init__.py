"""The core data plane between the front doors, the features and the model runtime."""

from service.dataplane.payload import Payload
from service.dataplane.plane import DataPlane, Readiness

__all__ = ["DataPlane", "Payload", "Readiness"]
