"""What is served: the model list (with what a running trainer will still add), the loaded
versions, and one version's manifest with what runs each endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.training_status import read_status
from service.dataplane.plane import DataPlane


@dataclass(frozen=True, slots=True)
class ModelSummary:
    name: str
    versions: list[int]
    default_version: int | None
    task: str
    architecture: str
    description: str
    class_names: list[str]


@dataclass(frozen=True, slots=True)
class Catalogue:
    """``GET /v1/models``."""

    models: list[ModelSummary]
    training: list[str]
    """The models a running trainer will still train (``core.training_status``): each is
    served once it lands and a reload picks it up, and none of them holds readiness."""


def model_summaries(plane: DataPlane) -> Catalogue:
    """Blocking (reads the trainer's status file): call it in the thread pool."""
    snapshot = plane.repository.snapshot
    models = []
    for name, versions in snapshot.models.items():
        default = snapshot.default_version(name)
        # A pinned default that is not loaded still describes the model by its newest.
        m = versions[default if default in versions else max(versions)].manifest
        models.append(
            ModelSummary(
                name=name,
                versions=snapshot.versions(name),
                default_version=default,
                task=m.task,
                architecture=m.architecture,
                description=m.description,
                class_names=list(m.class_names),
            )
        )
    status = read_status(plane.settings.models_dir)
    return Catalogue(models=models, training=list(status.pending) if status else [])


def loaded_versions(plane: DataPlane) -> dict[str, list[int]]:
    snapshot = plane.repository.snapshot
    return {name: snapshot.versions(name) for name in snapshot.models}


def metadata(plane: DataPlane, name: str, version: int | None) -> dict[str, Any]:
    """The manifest as JSON, plus ``versions`` and ``runtimes`` (what runs each endpoint).
    A dict, not a dataclass: its shape is the manifest's (``core.manifest.Manifest``)."""
    loaded = plane.model(name, version)
    body = loaded.manifest.model_dump(mode="json")
    body["versions"] = plane.repository.snapshot.versions(name)
    body["runtimes"] = dict(loaded.runtimes)
    return body
