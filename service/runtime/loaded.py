"""A model version in memory: its manifest, runners per endpoint and layer kernels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.manifest import Manifest
from service.runtime.derived import DerivedValues
from service.runtime.gradients import Gradients
from service.runtime.indexes import IndexShelf
from service.runtime.runners import Runner


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """Immutable once built: requests that hold one keep working through a reload."""

    manifest: Manifest
    path: Path
    runners: Mapping[str, Runner]
    runtimes: Mapping[str, str]
    """Endpoint -> what runs it: "litert" or "tensorflow"."""
    kernels: Mapping[str, np.ndarray] = field(repr=False)
    """Layer name -> kernel, read once from the SavedModel variables: Dense (inputs x units)
    and Conv2D (height x width x channels x filters)."""
    gradients: Gradients = field(repr=False)
    """Class-score gradients from the SavedModel (``:explain``), traced on first use."""
    neighbor_indexes: IndexShelf = field(repr=False)
    """The version's nearest-neighbour indexes (``:neighbors``), mapped on first use."""
    derived: DerivedValues = field(default_factory=DerivedValues, repr=False)
    """What features derive from the version on first use (its 2-D map, ...)."""

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> int:
        return self.manifest.version

    def runner(self, endpoint: str) -> Runner:
        return self.runners[endpoint]

    async def close(self) -> None:
        for runner in self.runners.values():
            await runner.close()
        await self.neighbor_indexes.close()
        await self.gradients.close()
