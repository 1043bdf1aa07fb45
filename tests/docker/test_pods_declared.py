"""The Kubernetes and KServe pods as declared, run by the local docker engine the way a
cluster would run them (no cluster can run here).

The Job, the Deployment and the InferenceService are read from deploy/ and turned into
`docker run` by tests/docker/pods.py (image, command and args, env from the ConfigMap and
the example Secret, user and group, read-only root, dropped capabilities, no privilege
escalation, volumes, memory and CPU), so a manifest change is tested without editing this
file. The PVCs are docker volumes; PostgreSQL runs on the pods' network under the host name
and with the credentials the example Secret names, so its URL is used unchanged. What docker
cannot express is emulated: fsGroup (the volumes are handed to the group and the group is
added to the container's, as the kubelet does) and KServe's storage initializer (the
storageUri's claim mounted read-only at /mnt/models, pods.pod_spec). tests/docker/kubelet.py
then acts as the kubelet: startup, readiness and liveness probes at their declared paths,
ports and periods; preStop, SIGTERM and the grace period.

Images: the ``e2e`` tags the compose test (which runs first, file order) builds; when they
are missing this module builds them the same way (`compose build`, cached layers). The kserve
SDK runs from its own venv (tests/docker/kserve_sdk.py, created on first use).

Marked ``docker``: ``pytest -m docker tests/docker/test_pods_declared.py``. Under CI=true a
missing engine fails, never skips.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy.engine import make_url

from tests.docker import engine, kserve_sdk, pods
from tests.docker.compose import ComposeProject, compose_cli, log
from tests.docker.kubelet import HOST, Kubelet, Probe, docker
from tests.docker.load import LoadRun

pytestmark = pytest.mark.docker

PREFIX = "ll-pods"  # containers, volumes and the network of this module (and their label)
IMAGE_TAG = "e2e"
#: Everything these tests run differently from the manifests, in one place.
OVERRIDES = pods.Overrides(
    # The locally built images (kustomization.yaml would tag them `latest` at apply time).
    images={name: f"{name}:{IMAGE_TAG}" for name in ("layerlens-api", "layerlens-trainer")},
    # The trainer's tiny profile (seconds per model) and the four default models
    # (`layerlens-train train --only-defaults`), not all fourteen: CI's time.
    env={"trainer": {"LAYERLENS_TRAIN_PROFILE": "quick"}},
    args={"trainer": ["--only-defaults"]},
)
API = "Deployment/layerlens-api"
JOB = "Job/layerlens-trainer"
TRAIN_TIMEOUT_S = 900.0
READY_TIMEOUT_S = 300.0
LOAD_THREADS = 6
LOAD_S = 8.0
POSTGRES_IMAGE = "postgres:15"


@dataclass
class Cluster:
    """One network, one volume per claim, PostgreSQL; every container labelled for removal."""

    run_id: str
    network: str
    objects: pods.Objects
    containers: list[str] = field(default_factory=list)

    def start(
        self, pod: dict[str, Any], name: str, overrides: pods.Overrides = OVERRIDES
    ) -> Kubelet:
        group = pods.fs_group_of(pod)
        if group is not None:
            _hand_volumes_to_fs_group(pods.writable_claims(pod, self.objects), group)
        args = pods.docker_run_args(
            pod,
            name=f"{PREFIX}-{self.run_id}-{name}",
            objects=self.objects,
            overrides=overrides,
            network=self.network,
            labels={PREFIX: self.run_id},
        )
        log(
            "$ "
            + " ".join(a if "DATABASE_URL" not in a else a.split("=")[0] + "=..." for a in args)
        )
        container = docker(*args[1:]).strip()
        self.containers.append(container)
        kubelet = Kubelet(container, pod, pod["containers"][0])
        kubelet.begin()
        return kubelet


def _ensure_images() -> None:
    wanted = list(OVERRIDES.images.values())
    if all(engine.has_image(image) for image in wanted):
        return
    cli = compose_cli()
    if cli is None:
        engine.unavailable("images missing and no compose CLI to build them")
    env = {**os.environ, "LAYERLENS_IMAGE_TAG": IMAGE_TAG}
    project = ComposeProject(cli, pods.ROOT, f"{PREFIX}-build", env)
    project.run("build", "trainer", "api")


def _hand_volumes_to_fs_group(volumes: list[str], group: int) -> None:
    """fsGroup, emulated: before the pod starts, its writable volumes go to the group,
    group-writable, directories setgid, as the kubelet does (an empty volume then still
    takes the image directory's owner when docker copies its contents in on first mount)."""
    if not volumes:
        return
    mounts = [a for v in volumes for a in ("-v", f"{v}:/v/{v}")]
    script = f"chgrp -R {group} /v && chmod -R g+rwX /v && find /v -type d -exec chmod g+s {{}} +"
    docker(
        "run",
        "--rm",
        "--label",
        f"{PREFIX}=fsgroup",
        *mounts,
        "debian:bookworm-slim",
        "sh",
        "-c",
        script,
    )


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    engine.require(request.config, pods.ROOT)
    _ensure_images()
    run_id = uuid.uuid4().hex[:8]
    found = pods.manifests()
    claims = {
        doc["metadata"]["name"]: f"{PREFIX}-{run_id}-{doc['metadata']['name']}"
        for doc in found.values()
        if doc["kind"] == "PersistentVolumeClaim"
    }
    network = f"{PREFIX}-{run_id}"
    cluster = Cluster(run_id, network, pods.Objects.from_manifests(found, claims))
    try:
        docker("network", "create", network)
        for volume in claims.values():
            docker("volume", "create", "--label", f"{PREFIX}={run_id}", volume)
        _start_postgres(cluster)
        yield cluster
    finally:
        for container in cluster.containers:
            docker("rm", "-f", "-v", container, check=False)
        for volume in claims.values():
            docker("volume", "rm", "-f", volume, check=False)
        docker("network", "rm", network, check=False)


def _start_postgres(cluster: Cluster) -> None:
    """PostgreSQL where the example Secret's URL points: its host name, user and password."""
    secret = cluster.objects.secrets["layerlens-database"]["url"]
    url = make_url(secret)
    name = f"{PREFIX}-{cluster.run_id}-postgres"
    container = docker(
        "run", "-d", "--name", name, "--network", cluster.network,
        "--network-alias", str(url.host), "--label", f"{PREFIX}={cluster.run_id}",
        "-e", f"POSTGRES_USER={url.username}", "-e", f"POSTGRES_PASSWORD={url.password}",
        "-e", f"POSTGRES_DB={url.database}", POSTGRES_IMAGE,
    ).strip()  # fmt: skip
    cluster.containers.append(container)
    deadline = time.monotonic() + 60
    check = ["exec", container, "pg_isready", "-h", "127.0.0.1", "-U", str(url.username)]
    while docker(*check, check=False).find("accepting") < 0:
        assert time.monotonic() < deadline, "PostgreSQL did not start"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def trained(cluster: Cluster) -> float:
    """The trainer Job's pod, run to completion (restartPolicy Never: one try is the test)."""
    pod = pods.pod_spec(pods.manifests()[JOB])
    started = time.monotonic()
    job = cluster.start(pod, "trainer")
    try:
        docker("wait", job.id, timeout=TRAIN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the trainer Job ran over {TRAIN_TIMEOUT_S:.0f} s:\n{job.logs()}")
    code = int(docker("inspect", "-f", "{{.State.ExitCode}}", job.id).strip())
    took = time.monotonic() - started
    assert code == 0, f"the trainer Job failed ({code}):\n{job.logs()}"
    log(f"trainer Job (quick profile, --only-defaults): {took:.0f} s")
    return took


@dataclass
class Started:
    api: Kubelet
    isvc: Kubelet
    startup_s: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def started(cluster: Cluster, trained: float) -> Iterator[Started]:
    """The API pod and the InferenceService's predictor, started together, probed."""
    api = cluster.start(pods.pod_spec(pods.manifests()[API]), "api")
    (isvc_doc,) = pods.documents(pods.KSERVE_FILE)
    isvc = cluster.start(pods.pod_spec(isvc_doc), "kserve")
    both = Started(api, isvc)
    try:
        for name, kubelet in (("api", api), ("kserve", isvc)):
            kubelet.wait_started()
            both.startup_s[name] = kubelet.wait_ready(READY_TIMEOUT_S)
        log(
            "start until the readiness probe passed: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in both.startup_s.items())
        )
        yield both
    finally:
        api.stop_probing()
        isvc.stop_probing()


def _exec(container: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "exec", container, *command], capture_output=True, text=True, check=False
    )


def _proc_status(container: str) -> dict[str, str]:
    text = _exec(container, "cat", "/proc/1/status").stdout
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


#: Resident memory of every process in the container, from its own /proc (the image has
#: python and no ps); the sum of RSS counts shared pages once per process, so it overstates.
_RSS_SCRIPT = (
    "import glob\n"
    "total = 0\n"
    "for path in glob.glob('/proc/[0-9]*/status'):\n"
    "    try:\n"
    "        lines = open(path).read().splitlines()\n"
    "    except OSError:\n"
    "        continue\n"
    "    total += sum(int(l.split()[1]) * 1024 for l in lines if l.startswith('VmRSS:'))\n"
    "print(total)\n"
)


def _cgroup_memory(container: str) -> tuple[int, int]:
    """(limit, usage) from the container's own cgroup files: v2, else v1."""
    v2 = _exec(container, "cat", "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current")
    if v2.returncode == 0:
        limit, usage = v2.stdout.split()
    else:
        base = "/sys/fs/cgroup/memory/memory."
        v1 = _exec(container, "cat", base + "limit_in_bytes", base + "usage_in_bytes")
        assert v1.returncode == 0, v1.stderr
        limit, usage = v1.stdout.split()
    return (2**63 if limit == "max" else int(limit)), int(usage)


def _rss(container: str) -> int:
    return int(_exec(container, "python", "-c", _RSS_SCRIPT).stdout.strip())


def _url(kubelet: Kubelet, port: int) -> str:
    return f"http://{HOST}:{kubelet.host_port(port)}"


def _declared_port(kubelet: Kubelet, index: int = 0) -> int:
    return int(kubelet.spec["ports"][index]["containerPort"])


def _zeros(url: str, model: str) -> list:
    manifest = httpx.get(f"{url}/v1/models/{model}", timeout=10).json()
    return np.zeros(manifest["input"]["shape"]).tolist()


# --- the negative case first: cheap, and it needs no trained model -------------------------


def test_a_read_only_root_without_a_writable_tmp_never_starts(cluster: Cluster) -> None:
    """The image needs a writable /tmp (the workers' shared metrics folder): a manifest
    that makes the root read-only and drops the emptyDir must fail the pod test."""
    pod = copy.deepcopy(pods.pod_spec(pods.manifests()[API]))
    pod["volumes"] = [v for v in pod["volumes"] if v["name"] != "tmp"]
    (container,) = pod["containers"]
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "tmp"]
    kubelet = cluster.start(pod, "no-tmp")
    with pytest.raises(AssertionError, match="startup probe failed") as failed:
        kubelet.wait_started()
    assert "temporary directory" in str(failed.value) or "Read-only" in str(failed.value)
    why = [line for line in str(failed.value).splitlines() if "temporary directory" in line]
    log(f"without /tmp: {str(failed.value).splitlines()[0]} {why[-1:]}")


# --- the pods as declared -----------------------------------------------------------------


def test_the_api_pod_runs_with_the_declared_identity_and_lockdown(started: Started) -> None:
    container = started.api.id
    spec = started.api.spec
    pod = started.api.pod
    status = _proc_status(container)
    uid, gid = pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]
    assert status["Uid"].split()[0] == str(uid)
    assert status["Gid"].split()[0] == str(gid)
    assert str(pod["securityContext"]["fsGroup"]) in status["Groups"].split()
    assert int(status["CapEff"], 16) == 0  # capabilities: drop ALL
    assert status["NoNewPrivs"].strip() == "1"  # allowPrivilegeEscalation: false
    root = _exec(container, "touch", "/probe-write")
    assert root.returncode != 0 and "Read-only" in root.stderr  # readOnlyRootFilesystem
    for mount in spec["volumeMounts"]:
        wrote = _exec(container, "touch", f"{mount['mountPath']}/probe-write")
        assert (wrote.returncode == 0) is (not mount.get("readOnly")), (mount, wrote.stderr)
    limit, _ = _cgroup_memory(container)
    assert limit == pods.bytes_of(spec["resources"]["limits"]["memory"])
    with httpx.Client(base_url=_url(started.api, _declared_port(started.api))) as client:
        names = {m["name"] for m in client.get("/v1/models").json()["models"]}
    assert {"digits", "fashion", "xor", "sklearn-digits"} <= names  # what the Job trained


def test_probes_pass_at_their_declared_paths_ports_and_periods(started: Started) -> None:
    """Liveness never reached its failure threshold (the kubelet would have restarted the
    container: a startup slower than liveness tolerates shows here), and readiness, once it
    passed, never failed long enough to take the pod out of its Service."""
    for kubelet in (started.api, started.isvc):
        assert kubelet.ready_at is not None
        ready_s = kubelet.ready_at - kubelet.started_at
        for kind, probe_log in kubelet.probes.items():
            assert probe_log.results, f"{kind} probe never ran"
            threshold = probe_log.probe.failure_threshold
            after = ready_s if kind == "readiness" else 0.0
            if kind != "startup":
                worst = probe_log.worst_failure_run(after)
                assert worst < threshold, (kubelet.spec["name"], kind, probe_log.results)
    readiness = started.api.probes["readiness"].probe
    assert readiness.kind == "grpc" and readiness.port == 8001  # as the Deployment declares


def _load_every_model(url: str, models: list[str]) -> LoadRun:
    bodies = {m: {"instances": [_zeros(url, m)] * 4} for m in models}
    counter = iter(range(10**9))

    def send(client: httpx.Client) -> httpx.Response:
        model = models[next(counter) % len(models)]
        return client.post(f"{url}/v1/models/{model}:predict", json=bodies[model])

    return LoadRun(send, threads=LOAD_THREADS)


def _peak_memory(kubelet: Kubelet, seconds: float) -> tuple[int, int]:
    peak_rss = peak_cgroup = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        peak_rss = max(peak_rss, _rss(kubelet.id))
        peak_cgroup = max(peak_cgroup, _cgroup_memory(kubelet.id)[1])
    return peak_rss, peak_cgroup


@pytest.mark.parametrize("which", ["api", "isvc"])
def test_resident_memory_stays_under_the_limit_with_every_model_under_load(
    started: Started, which: str
) -> None:
    kubelet: Kubelet = getattr(started, which)
    url = _url(kubelet, _declared_port(kubelet))
    models = [m["name"] for m in httpx.get(f"{url}/v1/models", timeout=10).json()["models"]]
    load = _load_every_model(url, models)
    load.start()
    try:
        peak_rss, peak_cgroup = _peak_memory(kubelet, LOAD_S)
    finally:
        load.stop()
    limit = pods.bytes_of(kubelet.spec["resources"]["limits"]["memory"])
    assert _cgroup_memory(kubelet.id)[0] == limit  # the engine enforces the declared limit
    log(
        f"{which}: {len(models)} models under load ({load.summary()}): peak RSS (sum over "
        f"processes) {peak_rss / 2**20:.0f} MiB, cgroup usage {peak_cgroup / 2**20:.0f} MiB, "
        f"limit {limit / 2**20:.0f} MiB"
    )
    assert load.dropped() == [], load.summary()
    assert peak_rss < limit
    oom = docker("inspect", "-f", "{{.State.OOMKilled}}", kubelet.id).strip()
    assert oom == "false"


def test_the_predictor_follows_kserve_conventions(started: Started) -> None:
    """v2 over HTTP on 8080, gRPC health on 8081, models from /mnt/models, and the kserve
    SDK's REST client against it."""
    isvc = started.isvc
    ports = {p.get("name", "http"): int(p["containerPort"]) for p in isvc.spec["ports"]}
    assert ports == {"http": 8080, "h2c": 8081}  # KServe's ports for custom predictors
    env = dict(kv.split("=", 1) for kv in _exec(isvc.id, "env").stdout.split())
    assert env["LAYERLENS_MODELS_DIR"] == pods.KSERVE_MODEL_DIR
    assert _exec(isvc.id, "ls", pods.KSERVE_MODEL_DIR).stdout.split()  # the claim, mounted
    url = _url(isvc, ports["http"])
    metadata = httpx.get(f"{url}/v2/models/digits", timeout=10).json()
    (tensor,) = metadata["inputs"]
    instance = np.asarray(_zeros(url, "digits"), dtype=np.float32)
    instance[10:18, 12:16] = 255.0  # a stroke, so the answer is not the bias alone
    shape = [1, *instance.shape]
    body = {"inputs": [{"name": tensor["name"], "shape": shape, "datatype": "FP32",
                        "data": instance.ravel().tolist()}]}  # fmt: skip
    direct = httpx.post(f"{url}/v2/models/digits/infer", json=body, timeout=30)
    assert direct.status_code == 200, direct.text
    grpc_health = Probe("grpc", ports["h2c"], timeout_s=5.0)
    assert grpc_health.check(isvc.host_port(ports["h2c"])), "gRPC health on 8081 is not SERVING"
    sdk = kserve_sdk.call(url, "digits", {"name": tensor["name"], "shape": shape,
                                           "data": instance.tolist()})  # fmt: skip
    assert sdk["live"] and sdk["ready"] and sdk["model_ready"]
    assert sdk["model_name"] == "digits"
    expected = {o["name"]: o["data"] for o in direct.json()["outputs"]}
    assert set(sdk["outputs"]) == set(expected)
    for name, data in expected.items():
        np.testing.assert_allclose(np.ravel(sdk["outputs"][name]), data, atol=1e-6)
    log(f"kserve SDK REST client: {json.dumps({k: sdk[k] for k in ('live', 'ready')})}")


def test_termination_drains_requests_in_flight_within_the_grace_period(started: Started) -> None:
    """As the kubelet deletes a pod: preStop, then SIGTERM, SIGKILL at the grace period.

    The load keeps running through preStop and SIGTERM (a Service that drops the pod late):
    every request under way at SIGTERM must be answered 200, later ones may only be
    refused or closed unanswered, and the server must exit 0 by itself in time.
    """
    api = started.api
    url = _url(api, _declared_port(api))
    body = {"instances": [_zeros(url, "digits")] * 8}
    load = LoadRun(lambda c: c.post(f"{url}/v1/models/digits:predict", json=body), threads=8)
    probes = api.probes["liveness"]
    load.start()
    time.sleep(2.0)
    try:
        termination = api.terminate()
    finally:
        load.stop()
    grace = float(api.pod["terminationGracePeriodSeconds"])
    in_flight = load.in_flight_at(termination.sigterm_at)
    log(
        f"termination: preStop {termination.pre_stop_s:.1f} s, SIGTERM to exit "
        f"{termination.drain_s:.1f} s (grace {grace:.0f} s), exit {termination.exit_code}; "
        f"requests {load.summary()}; in flight at SIGTERM and answered: {len(in_flight)}"
    )
    assert load.ok() and in_flight, "no request was in flight at SIGTERM"
    sent_before = [o for o in load.sent_before(termination.sigterm_at) if o.status != 200]
    assert sent_before == [], "requests under way at SIGTERM were dropped"
    late = [o for o in load.dropped() if o.started >= termination.sigterm_at]
    assert all(o.refused or o.never_answered for o in late), late
    assert not termination.killed
    assert termination.exit_code == 0
    assert termination.pre_stop_s + termination.drain_s < grace
    assert probes.worst_failure_run() < probes.probe.failure_threshold  # never restarted
