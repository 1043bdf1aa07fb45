"""Typed results: what each client method returns."""

from clients.results.embedding_map import EmbeddingMap
from clients.results.explanation import ExplainResult, Explanation, ExplanationPath
from clients.results.interpolation import Flip, Interpolation, InterpolationPoint
from clients.results.metrics import Agreement, CellExamples, Evaluation, Metrics
from clients.results.models import (
    DatasetExample,
    DatasetExamples,
    LayerInfo,
    ModelMetadata,
    ModelSummary,
    Weights,
)
from clients.results.neighbors import Neighbor, Neighborhood, NeighborsResult, NeighborVote
from clients.results.prediction import Embeddings, Prediction, PredictResult, TopK, Verdict
from clients.results.projection import Projected, Projection
from clients.results.v2 import InferResult

__all__ = [
    "Agreement",
    "CellExamples",
    "DatasetExample",
    "DatasetExamples",
    "EmbeddingMap",
    "Embeddings",
    "Evaluation",
    "ExplainResult",
    "Explanation",
    "ExplanationPath",
    "Flip",
    "InferResult",
    "Interpolation",
    "InterpolationPoint",
    "LayerInfo",
    "Metrics",
    "ModelMetadata",
    "ModelSummary",
    "Neighbor",
    "NeighborVote",
    "Neighborhood",
    "NeighborsResult",
    "PredictResult",
    "Prediction",
    "Projected",
    "Projection",
    "TopK",
    "Verdict",
    "Weights",
]
