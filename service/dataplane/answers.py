"""What every data-plane answer starts with: the model and the version that answered (the
version actually used, the default one when the request named none)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VersionAnswer:
    """The base of the typed answers (``service.features.*.answers``): orjson writes a
    subclass's fields after these two, as the answers always had them."""

    model: str
    version: int
