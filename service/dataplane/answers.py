"""What every data-plane answer starts with: the model and the version that answered (the
version actually used, the default one when the request named none)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class VersionAnswer:
    """The base of the typed answers (``service.features.*.answers``): orjson writes a
    subclass's fields after these two, as the answers always had them.

    Plain dataclasses, neither frozen nor slotted: orjson writes one with a ``__dict__``
    fastest, and a frozen ``__init__`` sets each field through ``object.__setattr__``; the
    two cost a JSON prediction about 2 us of its 90 (measured in process)."""

    model: str
    version: int
