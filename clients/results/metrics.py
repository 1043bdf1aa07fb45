"""The stored evaluations of a model version (test, train, validation, history,
cross-dataset, sweep): numeric lists arrive as numpy arrays, ``raw`` keeps the JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clients.results._convert import arrays_in


@dataclass(frozen=True)
class Evaluation:
    kind: str
    dataset: str
    created_at: str
    data: dict[str, Any]
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Evaluation:
        return cls(
            kind=str(raw.get("kind", "")),
            dataset=str(raw.get("dataset", "")),
            created_at=str(raw.get("created_at", "")),
            data=arrays_in(raw.get("data") or {}),
            raw=raw,
        )


@dataclass(frozen=True)
class Metrics:
    model: str
    version: int
    evaluations: list[Evaluation]
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Metrics:
        return cls(
            model=str(raw.get("model", "")),
            version=int(raw.get("version", 0)),
            evaluations=[Evaluation.from_json(e) for e in raw.get("evaluations", [])],
            raw=raw,
        )

    def of_kind(self, kind: str) -> list[Evaluation]:
        return [e for e in self.evaluations if e.kind == kind]

    def get(self, kind: str, dataset: str | None = None) -> Evaluation | None:
        """The first evaluation of that kind (and dataset, if given), or None."""
        for evaluation in self.of_kind(kind):
            if dataset is None or evaluation.dataset == dataset:
                return evaluation
        return None

    def to_json(self) -> dict[str, Any]:
        return self.raw
