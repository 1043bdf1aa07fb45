"""Whether the service is ready for inference: one rule for every front door.

``/v2/health/ready`` (REST), ``ServerReady`` and the ``grpc.health.v1`` service (gRPC) all
ask ``not_ready_reason``: not ready while starting or draining (service.lifecycle) and, with
``strict_readiness``, while any version on disk failed to load or a pinned default version
is not loaded (Triton's strict readiness).
"""

from __future__ import annotations

from service.dataplane import DataPlane
from service.lifecycle import Lifecycle


def not_ready_reason(lifecycle: Lifecycle, plane: DataPlane) -> str | None:
    """None when ready, else a message naming why not."""
    if not lifecycle.ready:
        return "the server is starting or shutting down"
    missing = plane.repository.snapshot.not_serving()
    if missing and plane.settings.strict_readiness:
        return (
            f"not ready: {len(missing)} model version(s) failed to load or are missing "
            f"({', '.join(missing)}); LAYERLENS_STRICT_READINESS=false serves the others"
        )
    return None
