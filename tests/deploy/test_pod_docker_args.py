"""tests/docker/pods.py on the real manifests, without an engine: the `docker run` arguments
the pod tests derive say what the Deployment, the Job and the InferenceService declare."""

from __future__ import annotations

import copy

import pytest

from tests.docker import pods

CLAIMS = {"layerlens-models": "vol-models", "layerlens-data": "vol-data"}


def _objects() -> pods.Objects:
    return pods.Objects.from_manifests(pods.manifests(), CLAIMS)


def _pod(key: str) -> dict:
    if key == "InferenceService":
        (isvc,) = pods.documents(pods.KSERVE_FILE)
        return pods.pod_spec(isvc)
    return pods.pod_spec(pods.manifests()[key])


def _args(key: str, **kwargs) -> list[str]:
    return pods.docker_run_args(_pod(key), name="x", objects=_objects(), **kwargs)


def _pairs(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


def _env(args: list[str]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in _pairs(args, "--env"))


def test_the_api_pod_runs_locked_down_as_declared() -> None:
    args = _args("Deployment/layerlens-api")
    assert "--read-only" in args
    assert _pairs(args, "--cap-drop") == ["ALL"]
    assert _pairs(args, "--security-opt") == ["no-new-privileges"]
    assert _pairs(args, "--user") == ["10001:10001"]
    assert _pairs(args, "--group-add") == ["10001"]  # fsGroup, emulated
    assert _pairs(args, "--memory") == [str(2 * 2**30)] == _pairs(args, "--memory-swap")
    assert _pairs(args, "--cpu-shares") == ["512"]  # requests.cpu 500m
    assert "--cpus" not in args  # no CPU limit declared
    assert _pairs(args, "--stop-timeout") == ["40"]
    assert _pairs(args, "--mount") == [
        "type=volume,src=vol-models,dst=/var/lib/layerlens/models,readonly",
        "type=volume,src=vol-data,dst=/var/lib/layerlens/data,readonly",
        "type=volume,dst=/tmp",  # emptyDir on disk: an anonymous volume, not a tmpfs
    ]
    assert "--tmpfs" not in args
    assert _pairs(args, "--publish") == ["127.0.0.1::8000", "127.0.0.1::8001"]
    assert args[-1] == "layerlens-api:latest"  # kustomization.yaml's tag, no command or args


def test_env_comes_from_the_config_map_the_secret_and_the_container() -> None:
    env = _env(_args("Deployment/layerlens-api"))
    config = pods.manifests()["ConfigMap/layerlens-config"]["data"]
    assert config.items() <= env.items()
    secret = pods.manifests()["Secret/layerlens-database"]["stringData"]["url"]
    assert env["LAYERLENS_DATABASE_URL"] == secret
    assert env["LAYERLENS_WORKERS"] == "2"


def test_the_job_writes_its_volumes_and_takes_the_overrides() -> None:
    overrides = pods.Overrides(
        images={"layerlens-trainer": "layerlens-trainer:e2e"},
        env={"trainer": {"LAYERLENS_TRAIN_PROFILE": "quick"}},
        args={"trainer": ["digits"]},
    )
    args = _args("Job/layerlens-trainer", overrides=overrides, network="net")
    assert "--read-only" not in args
    assert all(",readonly" not in m for m in _pairs(args, "--mount"))
    assert _pairs(args, "--memory") == [str(4 * 2**30)]
    assert _env(args)["LAYERLENS_TRAIN_PROFILE"] == "quick"
    assert _pairs(args, "--network") == ["net"]
    assert args[-2:] == ["layerlens-trainer:e2e", "digits"]


def test_the_inference_service_gets_its_storage_uri_at_mnt_models() -> None:
    args = _args("InferenceService")
    assert "type=volume,src=vol-models,dst=/mnt/models,readonly" in _pairs(args, "--mount")
    env = _env(args)
    assert env["LAYERLENS_MODELS_DIR"] == pods.KSERVE_MODEL_DIR
    assert (env["LAYERLENS_PORT"], env["LAYERLENS_GRPC_PORT"]) == ("8080", "8081")
    assert _pairs(args, "--publish") == ["127.0.0.1::8080", "127.0.0.1::8081"]
    assert args[-1] == "layerlens-api:latest"


def test_command_replaces_the_entrypoint_and_args_follow_the_image() -> None:
    pod = copy.deepcopy(_pod("Deployment/layerlens-api"))
    pod["containers"][0]["command"] = ["python", "-m", "service"]
    pod["containers"][0]["args"] = ["--flag"]
    args = pods.docker_run_args(pod, name="x", objects=_objects())
    assert _pairs(args, "--entrypoint") == ["python"]
    assert args[-4:] == ["layerlens-api:latest", "-m", "service", "--flag"]


def test_a_memory_backed_empty_dir_is_a_tmpfs() -> None:
    pod = copy.deepcopy(_pod("Deployment/layerlens-api"))
    tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
    tmp["emptyDir"] = {"medium": "Memory", "sizeLimit": "64Mi"}
    args = pods.docker_run_args(pod, name="x", objects=_objects())
    assert _pairs(args, "--tmpfs") == [f"/tmp:size={64 * 2**20}"]
    assert "type=volume,dst=/tmp" not in _pairs(args, "--mount")


def test_what_docker_cannot_express_is_refused_not_dropped() -> None:
    pod = copy.deepcopy(_pod("Deployment/layerlens-api"))
    pod["containers"][0]["volumeMounts"][0]["subPath"] = "digits"
    with pytest.raises(ValueError, match="subPath"):
        pods.docker_run_args(pod, name="x", objects=_objects())
    pod = copy.deepcopy(_pod("Deployment/layerlens-api"))
    pod["volumes"][2] = {"name": "tmp", "hostPath": {"path": "/tmp"}}
    with pytest.raises(ValueError, match="not emulated"):
        pods.docker_run_args(pod, name="x", objects=_objects())


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [("2Gi", 2 * 2**30), ("512Mi", 512 * 2**20), ("1G", 10**9), ("1500", 1500)],
)
def test_memory_quantities(quantity: str, expected: int) -> None:
    assert pods.bytes_of(quantity) == expected


def test_cpu_quantities() -> None:
    assert pods.cpus_of("500m") == 0.5
    assert pods.cpus_of("2") == 2.0
    with pytest.raises(ValueError):
        pods.bytes_of("500m")
