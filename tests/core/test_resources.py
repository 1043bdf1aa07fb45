"""LAYERLENS_WORKERS=auto: cores from the cgroup CPU quota or the affinity mask, capped by
memory; read from fake /sys/fs/cgroup and /proc/self trees built in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.resources import (
    MAX_WORKERS,
    WORKER_MEMORY_BYTES,
    intra_op_threads,
    probe,
    worker_count,
)
from core.settings import Settings

GIB = 2**30
V1_UNLIMITED = "9223372036854771712"


def _write(root: Path, path: str, text: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text + "\n")


def _meminfo(root: Path, total_bytes: int) -> None:
    _write(root, "proc/meminfo", f"MemTotal:       {total_bytes // 1024} kB\nMemFree: 1 kB")


def v2(root: Path, *, group: str, cpu_max: dict[str, str], memory_max: dict[str, str]) -> Path:
    """A unified hierarchy: the process in ``group``; files per folder under the mount."""
    _write(root, "proc/self/cgroup", f"0::{group}")
    _write(root, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids")
    for folder, text in cpu_max.items():
        _write(root, f"sys/fs/cgroup/{folder}/cpu.max".replace("//", "/"), text)
    for folder, text in memory_max.items():
        _write(root, f"sys/fs/cgroup/{folder}/memory.max".replace("//", "/"), text)
    return root


def v1(
    root: Path, *, group: str, quota: int, period: int, memory_limit: str, cpu_dir: str = "cpu"
) -> Path:
    """Legacy hierarchies, one per controller (cpu possibly joined with cpuacct)."""
    controllers = "cpu,cpuacct" if cpu_dir == "cpu,cpuacct" else "cpu"
    _write(
        root,
        "proc/self/cgroup",
        f"12:memory:{group}\n5:{controllers}:{group}\n1:name=systemd:{group}\n0::/",
    )
    cpu = f"sys/fs/cgroup/{cpu_dir}{group}"
    _write(root, f"{cpu}/cpu.cfs_quota_us", str(quota))
    _write(root, f"{cpu}/cpu.cfs_period_us", str(period))
    _write(root, f"sys/fs/cgroup/memory{group}/memory.limit_in_bytes", memory_limit)
    _write(root, "sys/fs/cgroup/memory/memory.limit_in_bytes", V1_UNLIMITED)
    return root


def test_v2_quota_rounds_down_and_beats_the_affinity_mask(tmp_path: Path) -> None:
    root = v2(
        tmp_path,
        group="/kubepods/pod1/c1",
        cpu_max={"kubepods/pod1/c1": "250000 100000", "kubepods": "max 100000"},
        memory_max={"kubepods/pod1/c1": str(16 * GIB)},
    )
    resources = probe(root, affinity=64)
    assert (resources.cpus, resources.cpu_source) == (2, "cgroup v2 cpu.max")
    assert resources.memory_bytes == 16 * GIB
    assert resources.auto_workers() == 2


def test_v2_the_tightest_ancestor_wins_and_a_fraction_is_still_one_core(tmp_path: Path) -> None:
    root = v2(
        tmp_path,
        group="/a/b",
        cpu_max={"a/b": "max 100000", "a": "50000 100000"},
        memory_max={"a/b": "max", "a": str(3 * GIB)},
    )
    resources = probe(root, affinity=8)
    assert resources.cpus == 1 and resources.memory_bytes == 3 * GIB


def test_v2_without_quota_uses_affinity_and_memory_caps_the_workers(tmp_path: Path) -> None:
    root = v2(tmp_path, group="/", cpu_max={"": "max 100000"}, memory_max={"": "max"})
    _meminfo(root, 3 * WORKER_MEMORY_BYTES + GIB // 2)
    resources = probe(root, affinity=8)
    assert (resources.cpus, resources.cpu_source) == (8, "affinity")
    assert resources.memory_bytes == 3 * WORKER_MEMORY_BYTES + GIB // 2  # the machine's
    assert resources.auto_workers() == 3


def test_container_view_where_the_group_path_is_the_hosts(tmp_path: Path) -> None:
    """Without a cgroup namespace /proc/self/cgroup names the host's path, while the
    container sees its own group mounted at /sys/fs/cgroup: the walk ends there."""
    root = v2(
        tmp_path,
        group="/system.slice/docker-abc.scope",
        cpu_max={"": "300000 100000"},
        memory_max={"": str(8 * GIB)},
    )
    assert probe(root, affinity=16).cpus == 3


@pytest.mark.parametrize("cpu_dir", ["cpu", "cpu,cpuacct"])
def test_v1_cfs_quota(tmp_path: Path, cpu_dir: str) -> None:
    root = v1(
        tmp_path,
        group="/docker/abc",
        quota=400000,
        period=100000,
        memory_limit=str(2 * WORKER_MEMORY_BYTES),
        cpu_dir=cpu_dir,
    )
    resources = probe(root, affinity=32)
    assert (resources.cpus, resources.cpu_source) == (4, "cgroup v1 cfs quota")
    assert resources.memory_bytes == 2 * WORKER_MEMORY_BYTES
    assert resources.auto_workers() == 2  # memory holds two


def test_v1_unlimited_like_this_machine(tmp_path: Path) -> None:
    """quota -1 and a 2**63-ish memory limit mean no limit: affinity and MemTotal decide."""
    root = v1(tmp_path, group="/process_api/x", quota=-1, period=100000, memory_limit=V1_UNLIMITED)
    _meminfo(root, 24 * GIB)
    resources = probe(root, affinity=2)
    assert (resources.cpus, resources.cpu_source, resources.memory_bytes) == (
        2,
        "affinity",
        24 * GIB,
    )
    assert resources.auto_workers() == 2


def test_a_quota_above_the_affinity_mask_does_not_add_cores(tmp_path: Path) -> None:
    root = v2(tmp_path, group="/", cpu_max={"": "800000 100000"}, memory_max={"": "max"})
    assert probe(root, affinity=2).cpus == 2


def test_nothing_readable_still_gives_one_worker_per_core(tmp_path: Path) -> None:
    resources = probe(tmp_path, affinity=6)
    assert (resources.cpus, resources.memory_bytes) == (6, None)
    assert resources.auto_workers() == 6


def test_memory_below_one_worker_still_starts_one_and_many_cores_stop_at_the_ceiling(
    tmp_path: Path,
) -> None:
    root = v2(tmp_path, group="/", cpu_max={"": "max 100000"}, memory_max={"": str(GIB // 4)})
    assert probe(root, affinity=4).auto_workers() == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    assert probe(empty, affinity=MAX_WORKERS * 2).auto_workers() == MAX_WORKERS


def test_settings_auto_resolves_and_threads_are_shared_by_the_workers(tmp_path: Path) -> None:
    root = v2(tmp_path, group="/", cpu_max={"": "400000 100000"}, memory_max={"": str(64 * GIB)})
    resources = probe(root, affinity=16)
    auto = Settings(workers="auto")
    assert worker_count(auto, resources) == 4
    assert intra_op_threads(auto, resources) == 1
    assert intra_op_threads(Settings(workers=2), resources) == 2
    assert intra_op_threads(Settings(workers=1), resources) == 4
    assert intra_op_threads(Settings(workers="auto", tf_intra_op_threads=3), resources) == 3


@pytest.mark.parametrize("value", ["0", "65", "many"])
def test_workers_is_a_count_or_auto(value: str) -> None:
    with pytest.raises(ValueError, match="workers"):
        Settings(workers=value)
