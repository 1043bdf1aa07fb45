"""The model runtime: SavedModels loaded from MODELS_DIR, their runners, and the registry.

Requests never touch TensorFlow directly: they take a ``LoadedModel`` from the current
registry snapshot and ``await`` one of its runners, which runs the SavedModel endpoint
in a thread pool (directly or through the dynamic batcher).
"""

from service.runtime.loaded import LoadedModel
from service.runtime.repository import ModelRepository, Snapshot
from service.runtime.runners import DirectRunner, Runner

__all__ = ["DirectRunner", "LoadedModel", "ModelRepository", "Runner", "Snapshot"]
