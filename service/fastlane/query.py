"""Query parameters of the inference routes, read without FastAPI (for the fast lane).

Only values that FastAPI's validation certainly accepts, in their plain spelling, are read
here; for anything else :func:`parse_query` returns None and the request goes through
FastAPI, whose 400 names the offending parameter. The accepted values come from the same
``Literal`` types the routes declare (``service.codecs``,
``service.features.predict.verbs``), so the two cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from service import codecs
from service.features.predict.verbs import OUTPUTS, TOP_K_MAX, InferenceOptions

DEFAULT = InferenceOptions()
_TOP_K = re.compile(r"[1-9][0-9]{0,3}")

#: Parameters each verb takes (``infer``: the V2 route takes none).
PARAMETERS: dict[str, frozenset[str]] = {
    "predict": frozenset({"top_k", "output", "scale", "fit", "include_input"}),
    "embed": frozenset({"layer", "scale", "fit"}),
    "infer": frozenset(),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "output": OUTPUTS,
    "scale": codecs.SCALES,
    "fit": codecs.FITS,
    "include_input": ("true", "false"),  # FastAPI reads more spellings: those go there
}


def parse_query(query_string: bytes, verb: str) -> InferenceOptions | None:
    """The parameters, or None when FastAPI should read them (anything unusual)."""
    if not query_string:
        return DEFAULT
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names) or not set(names) <= PARAMETERS[verb]:
        return None
    values = dict(pairs)
    if any(not value for value in values.values()):
        return None
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


__all__ = ["DEFAULT", "PARAMETERS", "parse_query"]
