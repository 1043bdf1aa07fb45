"""The registry of loaded models: an immutable snapshot swapped atomically on reload.

A request reads ``repository.snapshot`` once and keeps the ``LoadedModel`` it found, so
a reload never fails a request in flight: new versions are loaded and warmed before the
swap, removed versions are closed only after a grace period.

Versions are immutable by contract, but a volume can still be damaged in place. Each reload
compares a loaded version's files (name, size, modification time) with what was loaded;
when they changed it loads the version again, as Triton's polling does: the new copy
replaces the old when it loads, and when it does not the copy in memory keeps serving and
the version is reported ``stale`` (a restart would lose it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from core.manifest import is_valid_model_name, version_dir, versions_on_disk
from core.settings import Settings
from service.errors import ModelNotFound, ModelNotReady, VersionNotFound
from service.runtime.heap import freeze_loaded_objects
from service.runtime.loaded import LoadedModel
from service.runtime.loader import ModelBatchObserver, load_version

logger = logging.getLogger(__name__)

#: How long a removed version stays open for requests that already hold it.
RETIRE_AFTER_S = 30.0

#: What a version's files looked like: (path inside the version, size, mtime in ns) each.
Fingerprint = frozenset[tuple[str, int, int]]


def fingerprint(directory: Path) -> Fingerprint:
    """Blocking (a stat per file: a version holds a dozen). Empty when the directory went."""
    files = []
    try:
        for path in directory.rglob("*"):
            if path.is_file():
                stat = path.stat()
                files.append((str(path.relative_to(directory)), stat.st_size, stat.st_mtime_ns))
    except OSError:  # removed while we looked: the next scan sees it gone
        return frozenset()
    return frozenset(files)


@dataclass(frozen=True)
class Snapshot:
    models: Mapping[str, Mapping[int, LoadedModel]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    #: Versions found on disk that failed to load in the scan that made this snapshot.
    unavailable: frozenset[tuple[str, int]] = frozenset()
    #: Pinned default versions (``Settings.default_versions``); others default to the highest.
    pinned: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    #: Loaded versions whose files changed on disk and no longer load: they serve from memory.
    stale: frozenset[tuple[str, int]] = frozenset()

    def versions(self, name: str) -> list[int]:
        return sorted(self.models.get(name, {}))

    def default_version(self, name: str) -> int | None:
        """What a request without a version gets: the pinned one, else the highest loaded."""
        pinned = self.pinned.get(name)
        if pinned is not None:
            return pinned
        versions = self.models.get(name)
        return max(versions) if versions else None

    def missing_pins(self) -> set[tuple[str, int]]:
        """Pinned default versions that are not loaded."""
        return {(name, v) for name, v in self.pinned.items() if v not in self.models.get(name, {})}

    def not_serving(self) -> list[str]:
        """Each version on disk that failed to load and each pinned default that is not
        loaded, as "name/version" (the ``layerlens_model_versions_not_serving`` gauge)."""
        missing = self.unavailable | self.missing_pins()
        return [f"{name}/{version}" for name, version in sorted(missing)]

    def defaults_not_serving(self) -> list[str]:
        """What keeps a strict server from being ready: each model whose requests without a
        version get 503, because its pinned default is not loaded ("name/version") or no
        version of it loaded at all ("name"). A broken version that is not the default
        only answers its own 503: every replica reads the same model volume, so counting
        it would take the whole fleet out of its load balancer for one bad version."""
        pins = [f"{name}/{version}" for name, version in sorted(self.missing_pins())]
        unpinned = {name for name, _ in self.unavailable if name not in self.pinned}
        empty = [name for name in sorted(unpinned) if not self.models.get(name)]
        return sorted(pins + empty)

    def get(self, name: str, version: int | None = None) -> LoadedModel:
        """The named version, or the default one (``default_version``).

        404 when nothing by that name or number exists; 503 when it exists on disk but did
        not load (the reason is in the server log, not in the answer).
        """
        versions = self.models.get(name) if is_valid_model_name(name) else None
        if version is not None and (name, version) in self.unavailable:
            raise ModelNotReady(f"model {name!r} version {version} failed to load")
        if not versions:
            if any(failed == name for failed, _ in self.unavailable):
                raise ModelNotReady(f"model {name!r}: no version of it loaded")
            raise ModelNotFound(f"model {name!r} not found")
        if version is None:
            default = self.default_version(name)
            if default not in versions:
                raise ModelNotReady(
                    f"model {name!r}: its default version {default} is not loaded "
                    f"(loaded: {', '.join(str(v) for v in sorted(versions))}); "
                    "name a version, or change LAYERLENS_DEFAULT_VERSIONS"
                )
            return versions[default]
        if version not in versions:
            available = ", ".join(str(v) for v in sorted(versions))
            raise VersionNotFound(
                f"model {name!r} has no version {version} (available: {available})"
            )
        return versions[version]

    def __len__(self) -> int:
        return sum(len(v) for v in self.models.values())


@dataclass
class ReloadReport:
    loaded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


class ModelRepository:
    """Owns the current snapshot; only ``reload`` replaces it (one reload at a time)."""

    def __init__(
        self, settings: Settings, *, executor: Executor, observe: ModelBatchObserver
    ) -> None:
        self._settings = settings
        self._executor = executor
        self._observe = observe
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()
        #: The files each loaded version was loaded from (see ``fingerprint``).
        self._fingerprints: dict[tuple[str, int], Fingerprint] = {}
        self.snapshot = Snapshot()

    async def reload(self) -> ReloadReport:
        async with self._lock:
            return await self._reload()

    async def _reload(self) -> ReloadReport:
        report = ReloadReport()
        loop = asyncio.get_running_loop()
        models_dir = self._settings.models_dir
        found = await loop.run_in_executor(self._executor, versions_on_disk, models_dir)
        current = self.snapshot.models
        new: dict[str, dict[int, LoadedModel]] = {}
        failed: set[tuple[str, int]] = set()
        stale: set[tuple[str, int]] = set()
        replaced: list[LoadedModel] = []
        for name, versions in found.items():
            for version in versions:
                key = (name, version)
                files = await loop.run_in_executor(
                    self._executor, fingerprint, version_dir(models_dir, name, version)
                )
                loaded = current.get(name, {}).get(version)
                if loaded is not None and self._fingerprints.get(key) == files:
                    new.setdefault(name, {})[version] = loaded
                    continue
                try:
                    fresh = await loop.run_in_executor(self._executor, self._load, name, version)
                except Exception as exc:  # a broken version must not stop the others
                    logger.exception("could not load model %s version %d", name, version)
                    report.failed[f"{name}/{version}"] = str(exc)
                    if loaded is None:
                        failed.add(key)
                        continue
                    logger.error(
                        "the files of model %s version %d changed on disk and no longer load; "
                        "the copy loaded before keeps serving until a restart",
                        name,
                        version,
                    )
                    stale.add(key)
                    new.setdefault(name, {})[version] = loaded
                    continue
                self._fingerprints[key] = files
                report.loaded.append(f"{name}/{version}")
                new.setdefault(name, {})[version] = fresh
                if loaded is not None:
                    replaced.append(loaded)
        removed = [
            loaded
            for name, versions in current.items()
            for version, loaded in versions.items()
            if version not in new.get(name, {})
        ]
        for loaded in removed:
            self._fingerprints.pop((loaded.name, loaded.version), None)
        self.snapshot = Snapshot(
            MappingProxyType({n: MappingProxyType(v) for n, v in sorted(new.items())}),
            frozenset(failed),
            MappingProxyType(dict(self._settings.default_versions)),
            frozenset(stale),
        )
        for name, pinned in sorted(self.snapshot.missing_pins()):
            logger.warning(
                "default version %d of model %s (LAYERLENS_DEFAULT_VERSIONS) is not loaded: "
                "requests that name no version get 503",
                pinned,
                name,
            )
        for loaded in removed:
            report.removed.append(f"{loaded.name}/{loaded.version}")
            self._retire(loaded)
        for loaded in replaced:
            self._retire(loaded)
        if report.loaded:
            freeze_loaded_objects()
        return report

    def _load(self, name: str, version: int) -> LoadedModel:
        """Blocking: run in the thread pool."""
        return load_version(
            self._settings.models_dir,
            name,
            version,
            settings=self._settings,
            executor=self._executor,
            observe=self._observe,
        )

    def _retire(self, loaded: LoadedModel) -> None:
        async def close_later() -> None:
            await asyncio.sleep(RETIRE_AFTER_S)
            await loaded.close()

        task = asyncio.create_task(close_later())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        for task in list(self._retiring):
            task.cancel()
        for versions in self.snapshot.models.values():
            for loaded in versions.values():
                await loaded.close()
        self.snapshot = Snapshot()
