"""A pod spec, read from the repository's manifests, as the `docker run` that does what it says.

Pure: no engine is called here, so tests/deploy checks the arguments on the real manifests
without docker, and tests/docker runs them. What maps one to one:

| pod spec | docker run |
|---|---|
| image (+ kustomize's tag), imagePullPolicy | image (or an override's local tag), ``--pull`` |
| command / args | ``--entrypoint`` + arguments / arguments after the image |
| envFrom (ConfigMap, Secret), env (value, configMapKeyRef, secretKeyRef) | ``--env`` |
| runAsUser / runAsGroup (container over pod) | ``--user uid:gid`` |
| readOnlyRootFilesystem | ``--read-only`` |
| allowPrivilegeEscalation: false | ``--security-opt no-new-privileges`` |
| capabilities drop / add | ``--cap-drop`` / ``--cap-add`` |
| limits.memory | ``--memory``, and the same ``--memory-swap`` (Kubernetes: no swap) |
| limits.cpu, requests.cpu | ``--cpus``, ``--cpu-shares`` |
| PVC volume | a named docker volume, read-only where the mount or the claim says |
| emptyDir | an anonymous volume; ``medium: Memory`` only: ``--tmpfs`` |
| ports | ``--publish 127.0.0.1::port`` (the prober reaches them on loopback) |
| terminationGracePeriodSeconds | ``--stop-timeout`` (the test's kubelet also enforces it) |

What docker cannot express is emulated and said so: ``fsGroup`` becomes a supplementary
group (``--group-add``, as the kubelet adds it to every container's processes) and the test
hands the volumes to that group before the pod starts (:func:`fs_group_of`). Anything else
this module does not know (a subPath, a hostPath, a projected volume) raises, so a manifest
change never runs silently as something else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_DIR = ROOT / "deploy" / "kubernetes"
KSERVE_FILE = ROOT / "deploy" / "kserve" / "inferenceservice.yaml"
#: Where KServe's storage initializer puts a predictor's storageUri (a PVC is mounted there).
KSERVE_MODEL_DIR = "/mnt/models"

_QUANTITY = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<unit>[KMGTPE]i?|m|k)?$")
_UNITS = {
    None: 1,
    "k": 10**3,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
_PULL = {"IfNotPresent": "missing", "Always": "always", "Never": "never"}


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def manifests() -> dict[str, dict[str, Any]]:
    """Every resource of deploy/kubernetes (the Secret example included), by ``Kind/name``."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(KUBERNETES_DIR.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in documents(path):
            found[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return found


def kustomize_tags() -> dict[str, str]:
    """``images:`` of kustomization.yaml: the tag each image name gets when applied."""
    (kustomization,) = documents(KUBERNETES_DIR / "kustomization.yaml")
    return {i["name"]: i["newTag"] for i in kustomization.get("images", []) if "newTag" in i}


def bytes_of(quantity: str | int) -> int:
    """A Kubernetes memory quantity (``2Gi``, ``512M``, ``1024``) in bytes."""
    match = _QUANTITY.match(str(quantity))
    if not match or match["unit"] == "m":
        raise ValueError(f"not a memory quantity: {quantity!r}")
    return int(float(match["number"]) * _UNITS[match["unit"]])


def cpus_of(quantity: str | int | float) -> float:
    """A Kubernetes CPU quantity (``500m``, ``1``, ``0.5``) in cores."""
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def pod_spec(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The pod a Deployment, a Job or an InferenceService's predictor would start.

    For an InferenceService this adds what KServe adds for a ``pvc://`` storage URI (as the
    ``STORAGE_URI`` env or ``storageUri``): the claim mounted read-only at /mnt/models.
    """
    kind = resource["kind"]
    if kind in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        return dict(resource["spec"]["template"]["spec"])
    if kind != "InferenceService":
        raise ValueError(f"no pod in a {kind}")
    predictor = dict(resource["spec"]["predictor"])
    pod = {k: v for k, v in predictor.items() if k not in ("minReplicas", "maxReplicas")}
    containers = [dict(c) for c in pod["containers"]]
    main = containers[0]
    env = {e["name"]: e.get("value") for e in main.get("env", [])}
    uri = main.get("storageUri") or env.get("STORAGE_URI")
    if uri:
        if not uri.startswith("pvc://"):
            raise ValueError(f"only pvc:// storage URIs are emulated, not {uri!r}")
        claim, _, sub_path = uri.removeprefix("pvc://").partition("/")
        if sub_path:
            raise ValueError(f"a storage URI with a path inside the claim: {uri!r}")
        volume = {"name": "kserve-pvc-source", "persistentVolumeClaim": {"claimName": claim}}
        pod["volumes"] = [*pod.get("volumes", []), volume]
        mount = {"name": volume["name"], "mountPath": KSERVE_MODEL_DIR, "readOnly": True}
        main["volumeMounts"] = [*main.get("volumeMounts", []), mount]
    pod["containers"] = containers
    return pod


@dataclass(frozen=True)
class Overrides:
    """Everything a test runs differently from the manifest, in one value.

    ``images``: image name -> local image (kustomize sets the tag at apply time);
    ``env`` / ``args``: per container name, added to or replacing the declared ones.
    """

    images: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    args: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Objects:
    """The cluster objects a pod refers to: ConfigMaps, Secrets, PVC -> docker volume."""

    config_maps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    secrets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    claims: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_manifests(cls, found: Mapping[str, Mapping[str, Any]], claims: Mapping[str, str]):
        config_maps = {
            doc["metadata"]["name"]: dict(doc.get("data", {}))
            for doc in found.values()
            if doc["kind"] == "ConfigMap"
        }
        secrets = {
            doc["metadata"]["name"]: dict(doc.get("stringData", {}))
            for doc in found.values()
            if doc["kind"] == "Secret"
        }
        return cls(config_maps, secrets, dict(claims))


def container_env(container: Mapping[str, Any], objects: Objects) -> dict[str, str]:
    """envFrom first, then env over it (Kubernetes' precedence)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            data = objects.config_maps[source["configMapRef"]["name"]]
        elif "secretRef" in source:
            data = objects.secrets[source["secretRef"]["name"]]
        else:
            raise ValueError(f"unknown envFrom source: {source}")
        env.update({prefix + k: str(v) for k, v in data.items()})
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        ref = item.get("valueFrom", {})
        if "secretKeyRef" in ref:
            key = ref["secretKeyRef"]
            env[item["name"]] = str(objects.secrets[key["name"]][key["key"]])
        elif "configMapKeyRef" in ref:
            key = ref["configMapKeyRef"]
            env[item["name"]] = str(objects.config_maps[key["name"]][key["key"]])
        else:
            raise ValueError(f"env {item['name']}: docker cannot express {ref}")
    return env


def _security(pod: Mapping[str, Any], container: Mapping[str, Any]) -> list[str]:
    pod_ctx = pod.get("securityContext", {})
    ctx = {**pod_ctx, **container.get("securityContext", {})}
    flags: list[str] = []
    if "runAsUser" in ctx:
        user = str(ctx["runAsUser"])
        flags += ["--user", f"{user}:{ctx['runAsGroup']}" if "runAsGroup" in ctx else user]
    if "fsGroup" in pod_ctx:  # emulated: see the module docstring
        flags += ["--group-add", str(pod_ctx["fsGroup"])]
    for group in pod_ctx.get("supplementalGroups", []):
        flags += ["--group-add", str(group)]
    if ctx.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    if ctx.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    if ctx.get("privileged"):
        flags.append("--privileged")
    capabilities = ctx.get("capabilities", {})
    for cap in capabilities.get("drop", []):
        flags += ["--cap-drop", cap]
    for cap in capabilities.get("add", []):
        flags += ["--cap-add", cap]
    return flags


def _resources(container: Mapping[str, Any]) -> list[str]:
    resources = container.get("resources", {})
    limits, requests = resources.get("limits", {}), resources.get("requests", {})
    flags: list[str] = []
    if "memory" in limits:
        memory = str(bytes_of(limits["memory"]))
        flags += ["--memory", memory, "--memory-swap", memory]  # Kubernetes: no swap
    if "cpu" in limits:
        flags += ["--cpus", f"{cpus_of(limits['cpu']):g}"]
    if "cpu" in requests:  # the kubelet's cpu.shares for a request
        flags += ["--cpu-shares", str(max(2, round(cpus_of(requests["cpu"]) * 1024)))]
    return flags


def _mounts(pod: Mapping[str, Any], container: Mapping[str, Any], objects: Objects) -> list[str]:
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    flags: list[str] = []
    for mount in container.get("volumeMounts", []):
        if "subPath" in mount or "subPathExpr" in mount:
            raise ValueError(f"{mount['name']}: a subPath is not emulated")
        volume = volumes[mount["name"]]
        target = mount["mountPath"]
        if "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]
            source = objects.claims[claim["claimName"]]
            spec = f"type=volume,src={source},dst={target}"
            if mount.get("readOnly") or claim.get("readOnly"):
                spec += ",readonly"
            flags += ["--mount", spec]
        elif "emptyDir" in volume:
            empty = volume["emptyDir"] or {}
            if empty.get("medium") == "Memory":
                size = f":size={bytes_of(empty['sizeLimit'])}" if "sizeLimit" in empty else ""
                flags += ["--tmpfs", f"{target}{size}"]
            else:  # node disk: an anonymous volume, removed with the container (--rm / rm -v)
                flags += ["--mount", f"type=volume,dst={target}"]
        else:
            raise ValueError(f"{mount['name']}: volume type not emulated: {sorted(volume)}")
    return flags


def image_of(container: Mapping[str, Any], overrides: Overrides) -> str:
    image = container["image"]
    tagged = ":" in image.rsplit("/", 1)[-1]
    name = image.rsplit(":", 1)[0] if tagged else image
    if name in overrides.images:
        return overrides.images[name]
    if not tagged and name in kustomize_tags():
        return f"{image}:{kustomize_tags()[name]}"
    return image


def docker_run_args(
    pod: Mapping[str, Any],
    *,
    name: str,
    objects: Objects,
    overrides: Overrides = Overrides(),
    network: str | None = None,
    labels: Mapping[str, str] | None = None,
    container_name: str | None = None,
) -> list[str]:
    """``docker run -d ...`` for the pod's container (the first, or ``container_name``)."""
    containers = {c["name"]: c for c in pod["containers"]}
    container = containers[container_name or pod["containers"][0]["name"]]
    cname = container["name"]
    flags = ["docker", "run", "-d", "--name", name]
    if network:
        flags += ["--network", network]
    for key, value in (labels or {}).items():
        flags += ["--label", f"{key}={value}"]
    if "imagePullPolicy" in container:
        flags += ["--pull", _PULL[container["imagePullPolicy"]]]
    if "terminationGracePeriodSeconds" in pod:
        flags += ["--stop-timeout", str(pod["terminationGracePeriodSeconds"])]
    flags += _security(pod, container)
    flags += _resources(container)
    flags += _mounts(pod, container, objects)
    for port in container.get("ports", []):
        flags += ["--publish", f"127.0.0.1::{port['containerPort']}"]
    if "workingDir" in container:
        flags += ["--workdir", container["workingDir"]]
    env = container_env(container, objects) | dict(overrides.env.get(cname, {}))
    for key, value in env.items():
        flags += ["--env", f"{key}={value}"]
    command = list(container.get("command", []))
    args = list(overrides.args.get(cname, container.get("args", [])))
    if command:
        flags += ["--entrypoint", command[0]]
    flags.append(image_of(container, overrides))
    return flags + command[1:] + args


def fs_group_of(pod: Mapping[str, Any]) -> int | None:
    """The group the kubelet gives the pod's volumes (docker cannot: the test chowns them)."""
    value = pod.get("securityContext", {}).get("fsGroup")
    return None if value is None else int(value)


def writable_claims(pod: Mapping[str, Any], objects: Objects) -> list[str]:
    """The docker volumes of the PVCs some container of the pod mounts read-write."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    found: list[str] = []
    for container in pod["containers"]:
        for mount in container.get("volumeMounts", []):
            claim = volumes[mount["name"]].get("persistentVolumeClaim")
            if claim and not (mount.get("readOnly") or claim.get("readOnly")):
                found.append(objects.claims[claim["claimName"]])
    return list(dict.fromkeys(found))


def named_port(container: Mapping[str, Any], port: int | str) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for declared in container.get("ports", []):
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise ValueError(f"no container port named {port!r}")
