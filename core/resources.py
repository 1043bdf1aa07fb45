"""What this process may use (cores, memory): `LAYERLENS_WORKERS=auto` and the trainer's jobs.

``os.cpu_count()`` is the host's count: in a container limited to 2 CPUs on a 64-core
host it says 64, and 64 workers (each with its own TensorFlow and models) would be
throttled and killed for memory. So, as Go's automaxprocs and the JVM do, the usable
cores come from the cgroup CPU quota where there is one (v2 ``cpu.max``, v1
``cpu.cfs_quota_us / cpu.cfs_period_us``, the smallest along the process's cgroup and its
ancestors, rounded down, at least 1), else from the CPU affinity mask (which also covers
cpusets and ``taskset``). ``auto`` is that many workers, capped by the memory limit
(cgroup v2 ``memory.max``, v1 ``memory.limit_in_bytes``, else the machine's memory)
divided by ``WORKER_MEMORY_BYTES``.

Every path is read under ``root`` (``/`` in production) so tests build a fake
``/sys/fs/cgroup`` and ``/proc/self`` in a temporary folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings

#: Resident memory of one worker serving the 14 models of a full training run with their
#: LiteRT copies, rounded up with a margin. Measured on the 2-core machine after 600 PNG
#: predictions over six models: 864,872 kB (845 MiB) per worker, 42,660 kB for the
#: supervisor (the README's benchmark saw 862 MB), by
#:   make run    (workers=auto: 2; once GET /v1/models lists 14 models and no "training")
#:   ps -o pid,rss,args --ppid <the pid of layerlens-serve>
WORKER_MEMORY_BYTES = 1024 * 2**20
#: Settings.workers' own ceiling.
MAX_WORKERS = 64
#: A cgroup v1 "no limit" is a page-rounded 2**63 - 1; anything this large is no limit.
_UNLIMITED = 2**60


@dataclass(frozen=True)
class Resources:
    cpus: int
    #: Where ``cpus`` comes from: "cgroup v2 cpu.max", "cgroup v1 cfs quota" or "affinity".
    cpu_source: str
    #: The memory limit (cgroup, else the machine's), None when unknown.
    memory_bytes: int | None

    def auto_workers(self, memory_per_worker: int = WORKER_MEMORY_BYTES) -> int:
        """One worker per usable core, as many as the memory holds, 1 to ``MAX_WORKERS``."""
        workers = self.cpus
        if self.memory_bytes is not None:
            workers = min(workers, self.memory_bytes // memory_per_worker)
        return max(1, min(workers, MAX_WORKERS))

    def describe(self, memory_per_worker: int = WORKER_MEMORY_BYTES) -> str:
        memory = (
            "unknown"
            if self.memory_bytes is None
            else f"{self.memory_bytes / 2**30:.1f} GiB, {self.memory_bytes // memory_per_worker} "
            f"workers of {memory_per_worker / 2**20:.0f} MiB"
        )
        return f"{self.cpus} usable cores ({self.cpu_source}), memory {memory}"


def probe(root: Path = Path("/"), *, affinity: int | None = None) -> Resources:
    """The cores and memory this process may use. ``affinity`` stands in for the size of
    ``os.sched_getaffinity(0)`` (tests)."""
    if affinity is None:
        affinity = len(os.sched_getaffinity(0))
    cpus, source = affinity, "affinity"
    quota = _cpu_quota(root)
    if quota is not None and quota[0] < cpus:
        cpus, source = quota
    return Resources(cpus=max(1, cpus), cpu_source=source, memory_bytes=_memory_limit(root))


def worker_count(settings: Settings, resources: Resources | None = None) -> int:
    """``settings.workers`` as a number: ``auto`` resolved against ``resources``."""
    if settings.workers != "auto":
        return settings.workers
    return (resources or probe()).auto_workers()


def intra_op_threads(settings: Settings, resources: Resources | None = None) -> int:
    """TensorFlow and LiteRT threads per worker: the usable cores shared by the workers
    (more threads than cores only adds contention), unless set."""
    if settings.tf_intra_op_threads:
        return settings.tf_intra_op_threads
    resources = resources or probe()
    return max(1, resources.cpus // worker_count(settings, resources))


# --- cgroups ------------------------------------------------------------------------------
def _cgroup_paths(root: Path) -> dict[str, str]:
    """From /proc/self/cgroup: "" (the v2 hierarchy) or each v1 controller -> its path."""
    try:
        lines = (root / "proc/self/cgroup").read_text().splitlines()
    except OSError:
        return {}
    paths: dict[str, str] = {}
    for line in lines:
        _, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        for controller in controllers.split(",") if controllers else [""]:
            paths.setdefault(controller, path or "/")
    return paths


def _group_dirs(mount: Path, path: str) -> list[Path]:
    """The process's group folder and its ancestors up to the mount, those that exist.

    Inside a container the group's path in /proc/self/cgroup may be the host's while the
    mount is the container's own group: the walk then ends at the mount itself.
    """
    parts = [p for p in path.split("/") if p]
    dirs = [mount.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]
    return [d for d in dirs if d.is_dir()]


def _v1_mount(root: Path, controller: str, paths: dict[str, str]) -> tuple[Path, str] | None:
    """The v1 hierarchy of ``controller`` (mounted alone or joined with cpuacct) and the
    process's path in it."""
    if controller not in paths:
        return None
    cgroup = root / "sys/fs/cgroup"
    for name in (controller, f"{controller},cpuacct", f"cpuacct,{controller}"):
        if (cgroup / name).is_dir():
            return cgroup / name, paths[controller]
    return None


def _is_v2(root: Path) -> bool:
    return (root / "sys/fs/cgroup/cgroup.controllers").is_file()


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cpu_quota(root: Path) -> tuple[int, str] | None:
    """Whole cores of the tightest CPU quota on the way up, or None without one."""
    paths = _cgroup_paths(root)
    quotas: list[float] = []
    if _is_v2(root) and "" in paths:
        source = "cgroup v2 cpu.max"
        for folder in _group_dirs(root / "sys/fs/cgroup", paths[""]):
            text = _read(folder / "cpu.max")
            if text:
                quota, _, period = text.partition(" ")
                if quota != "max" and period:
                    quotas.append(int(quota) / int(period))
    else:
        source = "cgroup v1 cfs quota"
        mount = _v1_mount(root, "cpu", paths)
        for folder in _group_dirs(*mount) if mount else []:
            quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
            if quota and period and int(quota) > 0 and int(period) > 0:
                quotas.append(int(quota) / int(period))
    if not quotas:
        return None
    return max(1, int(min(quotas))), source


def _memory_limit(root: Path) -> int | None:
    """The tightest cgroup memory limit on the way up, else the machine's memory."""
    paths = _cgroup_paths(root)
    limits: list[int] = []
    if _is_v2(root) and "" in paths:
        for folder in _group_dirs(root / "sys/fs/cgroup", paths[""]):
            text = _read(folder / "memory.max")
            if text and text != "max":
                limits.append(int(text))
    else:
        mount = _v1_mount(root, "memory", paths)
        for folder in _group_dirs(*mount) if mount else []:
            text = _read(folder / "memory.limit_in_bytes")
            if text and int(text) < _UNLIMITED:
                limits.append(int(text))
    if limits:
        return min(limits)
    return _machine_memory(root)


def _machine_memory(root: Path) -> int | None:
    text = _read(root / "proc/meminfo") or ""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None
