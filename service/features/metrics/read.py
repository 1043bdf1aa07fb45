"""The metrics routes' reads: a version's stored evaluations and a page of one
confusion-matrix cell, through the data plane's one bounded database reader."""

from __future__ import annotations

from core.db import UnknownEvaluationKind, check_kind
from service.dataplane import DataPlane
from service.dataplane.evaluations import read_cell
from service.errors import InvalidInput
from service.features.metrics.answers import CellPage, StoredEvaluations
from service.features.metrics.cells import cell_answer, cell_instances, check_cell_query


async def evaluations(
    plane: DataPlane, name: str, version: int | None, kind: str | None
) -> StoredEvaluations:
    loaded = plane.model(name, version)
    if kind is not None:
        try:
            check_kind(kind)
        except UnknownEvaluationKind as exc:
            raise InvalidInput(str(exc)) from None
    reader = plane.evaluation_reader
    rows = await reader.read(plane.in_thread, loaded.name, loaded.version, kind)
    return StoredEvaluations(loaded.name, loaded.version, rows)


async def cell_examples(
    plane: DataPlane, name: str, version: int | None, true_class: int, predicted_class: int,
    start: int, num: int, *, instances: bool = False,
) -> CellPage:  # fmt: skip
    """A page of the test examples in one confusion-matrix cell (``cells``), with their
    inputs when ``instances``."""
    loaded = plane.model(name, version)
    check_cell_query(loaded.manifest.num_classes, true_class, predicted_class, num)
    cell = await plane.evaluation_reader.call(
        plane.in_thread, read_cell, loaded.name, loaded.version, true_class,
        predicted_class, start, num,
    )  # fmt: skip
    answer = cell_answer(loaded.name, loaded.version, cell)
    if instances:
        answer["instances"] = await plane.in_thread(
            cell_instances, answer["dataset"], answer["indices"], plane.settings.data_dir
        )
    return answer
