"""deploy/: every Kubernetes manifest validates against the upstream API schemas, the KServe
InferenceService against a schema subset kept here, and the pieces agree with each other
(selectors, ports, probes, grace periods, the image's user)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_DIR = ROOT / "deploy" / "kubernetes"
KSERVE_FILE = ROOT / "deploy" / "kserve" / "inferenceservice.yaml"
SCHEMAS = Path(__file__).with_name("schemas")
#: The oldest Kubernetes minor version the manifests promise to work with.
KUBERNETES_VERSION = "1.29"
IMAGE_UID = 10001  # the Dockerfile's `layerlens` user
READY_PATH = "/v2/health/ready"
LIVE_PATH = "/v2/health/live"


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _manifest_files() -> list[Path]:
    return sorted(p for p in KUBERNETES_DIR.glob("*.yaml") if p.name != "kustomization.yaml")


def _by_kind() -> dict[str, dict[str, Any]]:
    kinds: dict[str, dict[str, Any]] = {}
    for path in _manifest_files():
        for doc in _documents(path):
            kinds[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return kinds


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "<from>") for e in container.get("env", [])}


@pytest.mark.parametrize("path", _manifest_files(), ids=lambda p: p.name)
def test_kubernetes_manifest_is_valid_for_the_api_server(path: Path) -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="the dev extra's kubernetes-validate is not installed"
    )
    docs = _documents(path)
    assert docs, f"{path.name} holds no resource"
    for doc in docs:
        # strict: unknown fields (typos) are errors, as `kubectl apply --validate=strict`.
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = _documents(KUBERNETES_DIR / "kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    expected = {p.name for p in _manifest_files()} - {"secret.example.yaml"}
    assert listed == expected
    images = {image["name"] for image in kustomization["images"]}
    used = {
        c["image"]
        for doc in _by_kind().values()
        if doc["kind"] in ("Deployment", "Job")
        for c in doc["spec"]["template"]["spec"]["containers"]
    }
    assert used == images == {"layerlens-api", "layerlens-trainer", "layerlens-edge"}


def test_service_routes_to_the_api_pods_named_port() -> None:
    kinds = _by_kind()
    deployment, service = kinds["Deployment/layerlens-api"], kinds["Service/layerlens-api"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    pdb = kinds["PodDisruptionBudget/layerlens-api"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (container,) = pod["spec"]["containers"]
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in port_names
    assert str(port_names["http"]) == _env(container)["LAYERLENS_PORT"]


def test_api_probes_grace_period_and_user() -> None:
    deployment = _by_kind()["Deployment/layerlens-api"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    # Readiness on the gRPC health service (it follows /v2/health/ready); liveness on HTTP.
    grpc_port = int(_env(container)["LAYERLENS_GRPC_PORT"])
    assert container["readinessProbe"]["grpc"]["port"] == grpc_port
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["grpc"] == grpc_port
    assert container["livenessProbe"]["httpGet"]["path"] == LIVE_PATH
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    graceful = float(_env(container)["LAYERLENS_GRACEFUL_TIMEOUT_S"])
    # Kubernetes counts the preStop pause inside the grace period, then sends SIGKILL.
    assert pod["terminationGracePeriodSeconds"] > pause + graceful
    assert pod["securityContext"]["runAsUser"] == IMAGE_UID
    assert all(m.get("readOnly") for m in container["volumeMounts"] if m["name"] != "tmp")


def test_trainer_job_writes_the_volumes_the_api_reads() -> None:
    kinds = _by_kind()
    job = kinds["Job/layerlens-trainer"]["spec"]["template"]["spec"]
    api = kinds["Deployment/layerlens-api"]["spec"]["template"]["spec"]
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in job["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims == {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in api["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert set(claims.values()) <= {n.split("/")[1] for n in kinds if n.startswith("Persistent")}
    assert job["securityContext"]["runAsUser"] == IMAGE_UID


def _inference_service_schema() -> dict[str, Any]:
    return json.loads((SCHEMAS / "inferenceservice.schema.json").read_text(encoding="utf-8"))


def test_inference_service_matches_the_kserve_schema() -> None:
    (isvc,) = _documents(KSERVE_FILE)
    jsonschema.validate(isvc, _inference_service_schema())
    (container,) = isvc["spec"]["predictor"]["containers"]
    env = _env(container)
    assert env["STORAGE_URI"].startswith("pvc://layerlens-models")
    assert env["LAYERLENS_MODELS_DIR"] == "/mnt/models"  # where KServe mounts STORAGE_URI
    assert str(container["ports"][0]["containerPort"]) == env["LAYERLENS_PORT"]
    # KServe's gRPC convention for custom predictors: port 8081, named h2c.
    grpc_ports = [p for p in container["ports"] if p.get("name") == "h2c"]
    assert [p["containerPort"] for p in grpc_ports] == [8081] == [int(env["LAYERLENS_GRPC_PORT"])]
    assert container["readinessProbe"]["httpGet"]["path"] == READY_PATH


def test_inference_service_schema_rejects_a_misspelt_field() -> None:
    (isvc,) = _documents(KSERVE_FILE)
    broken = copy.deepcopy(isvc)
    broken["spec"]["predictor"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(jsonschema.ValidationError, match="readinesProbe"):
        jsonschema.validate(broken, _inference_service_schema())


def test_autoscaler_scales_the_api_on_a_metric_the_service_exports() -> None:
    from service.telemetry import Telemetry

    kinds = _by_kind()
    hpa = kinds["HorizontalPodAutoscaler/layerlens-api"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "layerlens-api",
    }
    # The HPA owns the count: a `replicas` in the Deployment would reset it on every apply.
    assert "replicas" not in kinds["Deployment/layerlens-api"]["spec"]
    pdb = kinds["PodDisruptionBudget/layerlens-api"]["spec"]
    assert hpa["minReplicas"] > pdb["minAvailable"], "a drain could never evict a pod"
    pod_metrics = {m["pods"]["metric"]["name"] for m in hpa["metrics"] if m["type"] == "Pods"}
    exported = {metric.name for metric in Telemetry().registry.collect()}
    assert pod_metrics and pod_metrics <= exported, f"{pod_metrics} not among {exported}"
    assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["metrics"])
    # The adapter rule publishes exactly those metrics under those names.
    rules = yaml.safe_load((KUBERNETES_DIR / "prometheus-adapter" / "rules.yaml").read_text())
    published = {rule["name"]["as"] for rule in rules["rules"]}
    assert pod_metrics <= published
    for rule in rules["rules"]:
        assert rule["seriesQuery"].split("{")[0] in exported


def _serving_containers() -> dict[str, dict[str, Any]]:
    (isvc,) = _documents(KSERVE_FILE)
    deployment = _by_kind()["Deployment/layerlens-api"]["spec"]["template"]["spec"]
    return {
        "Deployment": deployment["containers"][0],
        "InferenceService": isvc["spec"]["predictor"]["containers"][0],
    }


@pytest.mark.parametrize("kind", ["Deployment", "InferenceService"])
def test_liveness_waits_for_a_startup_probe_that_covers_model_loading(kind: str) -> None:
    """The server answers nothing until every model has loaded (the lifespan loads them):
    liveness from the first second would restart a pod that loads for longer than its
    period x threshold (60 s for 15 x 4; the pod tests measured 50-100 s on 2 busy cores)."""
    container = _serving_containers()[kind]
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] == LIVE_PATH
    budget = startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
    assert budget >= 300
