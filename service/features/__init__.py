"""The features: one folder each, with its route, its tensor-level code and its pure maths.

Each depends on the core (``service.dataplane``, ``service.runtime``, ``service.http``) and
never on another feature. The app includes ``ROUTERS`` (then the Open Inference Protocol's
and the scrape's) and gives the data plane ``DERIVED_OUTPUTS``, the named outputs features
add to every V2 answer (docs/architecture.md, "Adding to the service").
"""

from fastapi import APIRouter

from service.dataplane.outputs import AnswerField, DerivedOutput
from service.features.catalogue import admin
from service.features.catalogue import route as catalogue
from service.features.datasets import route as datasets
from service.features.explain import route as explain
from service.features.explain.output import ATTRIBUTIONS
from service.features.interpolate import route as interpolate
from service.features.maps import route as maps
from service.features.metrics import route as metrics
from service.features.neighbors import route as neighbors
from service.features.ood.output import DERIVED as OOD_OUTPUTS
from service.features.ood.output import VERDICT_FIELD
from service.features.predict import route as predict
from service.features.weights import route as weights

ROUTERS: tuple[APIRouter, ...] = (
    catalogue.router,
    metrics.router,
    weights.router,
    predict.router,
    interpolate.router,
    explain.router,
    neighbors.router,
    maps.router,
    datasets.router,
    admin.router,
)

DERIVED_OUTPUTS: tuple[DerivedOutput, ...] = (ATTRIBUTIONS, *OOD_OUTPUTS)
ANSWER_FIELDS: tuple[AnswerField, ...] = (VERDICT_FIELD,)

__all__ = ["ANSWER_FIELDS", "DERIVED_OUTPUTS", "ROUTERS"]
