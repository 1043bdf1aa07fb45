"""What the results answered one item per input share (``predict``, ``explain``,
``neighbors``), and a neighbourhood's list of neighbours: length, iteration and indexing over
the items, joining the answers to several requests, and the answer as it came."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, Generic, Self, TypeVar, get_args

from clients.results._convert import field_types

T = TypeVar("T")


class Items(Generic[T]):
    """A dataclass whose field named ``ITEMS`` is a list it reads as: ``len(result)``,
    ``for item in result``, ``result[i]``."""

    ITEMS: ClassVar[str]

    def _items(self) -> list[T]:
        return getattr(self, self.ITEMS)

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[T]:
        return iter(self._items())

    def __getitem__(self, index: int) -> T:
        return self._items()[index]


@dataclass(frozen=True)
class PerInput(Items[T]):
    """A header (model, version, the options it was made with) and one item per input, in
    the inputs' order, under the answer's key ``ITEMS``; ``raw`` keeps the items as the
    service sent them."""

    raw: list[dict[str, Any]] = field(default_factory=list, repr=False, kw_only=True)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Self:
        """The header read leniently (a missing string is "", a missing number 0, a missing
        optional string None) and each item by its own type's ``from_json``."""
        items = raw.get(cls.ITEMS, [])
        header = {}
        for name, kind in field_types(cls):
            if kind in (str, int):
                header[name] = kind(raw.get(name, kind()))
            elif kind == str | None:
                header[name] = None if raw.get(name) is None else str(raw[name])
            elif name == cls.ITEMS:
                (item,) = get_args(kind)
                header[name] = [item.from_json(i) for i in items]
            elif name != "raw":
                raise TypeError(f"{cls.__name__}.{name}: no lenient reading of {kind}")
        return cls(**header, raw=list(items))

    @classmethod
    def concat(cls, parts: list[Self]) -> Self:
        """One result from the answers to several requests (runs of inputs of one kind):
        the first answer's header, every answer's items."""
        items = [item for part in parts for item in part._items()]
        raw = [r for part in parts for r in part.raw]
        return replace(parts[0], **{cls.ITEMS: items, "raw": raw})

    def to_json(self) -> dict[str, Any]:
        """The answer again: the header in field order, then the items as sent."""
        skip = (self.ITEMS, "raw")
        header = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        return {**header, self.ITEMS: self.raw}
