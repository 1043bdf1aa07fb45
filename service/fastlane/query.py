"""Query parameters of the inference routes, read without FastAPI (for the fast lane).

Only values that FastAPI's validation certainly accepts, in their plain spelling, are read
here; for anything else :func:`parse_query` returns None and the request goes through
FastAPI, whose 400 names the offending parameter. The accepted values come from the same
``Literal`` types the routes declare (``service.codecs``,
``service.features.predict.verbs``), and ``:explain``'s and ``:neighbors``' from their
own query models (``ExplainOptions``, ``NeighborOptions``), so the two cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError

from service import codecs
from service.features.explain.options import ExplainOptions
from service.features.neighbors.options import NeighborOptions
from service.features.predict.verbs import OUTPUTS, TOP_K_MAX, InferenceOptions

DEFAULT = InferenceOptions()
_TOP_K = re.compile(r"[1-9][0-9]{0,3}")

#: Parameters each verb takes (``infer``: the V2 route takes none).
PARAMETERS: dict[str, frozenset[str]] = {
    "predict": frozenset({"top_k", "output", "scale", "fit", "include_input"}),
    "embed": frozenset({"layer", "scale", "fit"}),
    "infer": frozenset(),
    "explain": frozenset(ExplainOptions.model_fields),
    "neighbors": frozenset(NeighborOptions.model_fields),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "output": OUTPUTS,
    "scale": codecs.SCALES,
    "fit": codecs.FITS,
    "include_input": ("true", "false"),  # FastAPI reads more spellings: those go there
}


#: The verbs whose whole query is one pydantic model, the one their FastAPI route declares.
_QUERY_MODELS: dict[str, type[ExplainOptions] | type[NeighborOptions]] = {
    "explain": ExplainOptions,
    "neighbors": NeighborOptions,
}


def parse_query(
    query_string: bytes, verb: str
) -> InferenceOptions | ExplainOptions | NeighborOptions | None:
    """The parameters, or None when FastAPI should read them (anything unusual)."""
    values = _plain_values(query_string, verb)
    if values is None:
        return None
    model = _QUERY_MODELS.get(verb)
    return _inference_options(values) if model is None else _model_options(model, values)


def _plain_values(query_string: bytes, verb: str) -> dict[str, str] | None:
    """Each parameter once, each a name the verb takes, none empty; else None."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names) or not set(names) <= PARAMETERS[verb]:
        return None
    values = dict(pairs)
    return None if any(not value for value in values.values()) else values


def _inference_options(values: dict[str, str]) -> InferenceOptions | None:
    if not values:
        return DEFAULT
    for name, choices in _CHOICES.items():
        if name in values and values[name] not in choices:
            return None
    options: dict[str, Any] = dict(values)  # every value checked against its Literal above
    if "top_k" in values:
        if not _TOP_K.fullmatch(values["top_k"]) or int(values["top_k"]) > TOP_K_MAX:
            return None
        options["top_k"] = int(values["top_k"])
    if "include_input" in values:
        options["include_input"] = values["include_input"] == "true"
    return InferenceOptions(**options)


def _model_options(
    model: type[ExplainOptions] | type[NeighborOptions], values: dict[str, str]
) -> ExplainOptions | NeighborOptions | None:
    """The route's own query model, validated as FastAPI validates it: what it accepts is
    the options FastAPI would build; anything else goes there for its 400."""
    try:
        return model.model_validate(values)
    except ValidationError:
        return None


__all__ = ["DEFAULT", "PARAMETERS", "parse_query"]
