"""API replicas as plain containers on one docker network, run the way
deploy/kubernetes declares the Deployment: its environment (ConfigMap, Secret, env), its
probes and shutdown timings, read-only root with a /tmp scratch volume, read-only models.

Everything a run creates carries the label ``ll-fo.run=<id>`` and a name starting with
``ll-fo-<id>-``, so that cleanup removes exactly this run's containers, network and
volumes (other docker tests run beside it).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.docker.compose import log
from tests.docker.proxy import Readiness

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
LABEL = "ll-fo.run"
DOCKER_TIMEOUT_S = 900.0
MODELS_MOUNT = "/var/lib/layerlens/models"
DATA_MOUNT = "/var/lib/layerlens/data"


def docker(*args: str, timeout: float = DOCKER_TIMEOUT_S, check: bool = True) -> str:
    result = subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"`docker {' '.join(args)}` failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


def _manifest(name: str) -> dict:
    return yaml.safe_load((KUBERNETES / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class DeploymentSpec:
    """What the test takes from deploy/kubernetes rather than restating it."""

    replicas: int
    max_surge: int
    max_unavailable: int
    termination_grace_s: float
    pre_stop_sleep_s: float
    readiness: Readiness
    env: dict[str, str]  # ConfigMap, then the container's literal env, then the Secret's URL
    database_url: str

    @classmethod
    def load(cls) -> DeploymentSpec:
        deployment = _manifest("api-deployment.yaml")
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        rolling = deployment["spec"]["strategy"]["rollingUpdate"]
        probe = container["readinessProbe"]
        pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep", pre_stop
        url = _manifest("secret.example.yaml")["stringData"]["url"]
        env = dict(_manifest("configmap.yaml")["data"])
        env.update({e["name"]: e["value"] for e in container["env"] if "value" in e})
        env["LAYERLENS_DATABASE_URL"] = url
        return cls(
            # The HPA owns the count (api-hpa.yaml): its minimum is what runs at rest.
            replicas=int(
                deployment["spec"].get("replicas")
                or _manifest("api-hpa.yaml")["spec"]["minReplicas"]
            ),
            max_surge=int(rolling["maxSurge"]),
            max_unavailable=int(rolling["maxUnavailable"]),
            termination_grace_s=float(pod["terminationGracePeriodSeconds"]),
            pre_stop_sleep_s=float(pre_stop[1]),
            readiness=Readiness(float(probe["periodSeconds"]), int(probe["failureThreshold"])),
            env=env,
            database_url=url,
        )


@dataclass(frozen=True)
class Replica:
    name: str  # the container's name, and the server's name in the proxy
    image: str
    address: str


@dataclass
class Fleet:
    """This run's network, volumes and containers."""

    run_id: str
    spec: DeploymentSpec
    network: str = ""
    volumes: dict[str, str] = field(default_factory=dict)
    _count: int = 0

    def __post_init__(self) -> None:
        self.network = self.name("net")
        self.volumes = {"models": self.name("models"), "data": self.name("data")}

    def name(self, part: str) -> str:
        return f"ll-fo-{self.run_id}-{part}"

    def create(self) -> None:
        docker("network", "create", "--label", f"{LABEL}={self.run_id}", self.network)
        for volume in self.volumes.values():
            docker("volume", "create", "--label", f"{LABEL}={self.run_id}", volume)

    def run(
        self,
        name: str,
        image: str,
        *options: str,
        command: tuple[str, ...] = (),
        detach: bool = True,
    ) -> str:
        """``docker run [options] image [command]`` on this run's network with its label;
        the output (the container id if detached)."""
        return docker(
            "run",
            *(["-d"] if detach else ["--rm"]),
            "--name",
            name,
            "--label",
            f"{LABEL}={self.run_id}",
            "--network",
            self.network,
            *options,
            image,
            *command,
        )

    def address(self, container: str) -> str:
        networks = json.loads(docker("inspect", container))[0]["NetworkSettings"]["Networks"]
        return networks[self.network]["IPAddress"]

    def start_postgres(self, *, timeout: float) -> None:
        """postgres:15 under the host name the Secret's URL names, with its credentials."""
        from sqlalchemy.engine import make_url

        url = make_url(self.spec.database_url)
        name = self.name("postgres")
        self.run(
            name,
            "postgres:15",
            "--network-alias",
            str(url.host),
            "-e",
            f"POSTGRES_USER={url.username}",
            "-e",
            f"POSTGRES_PASSWORD={url.password}",
            "-e",
            f"POSTGRES_DB={url.database}",
        )
        started = time.perf_counter()
        probe = ["exec", name, "pg_isready", "-h", "127.0.0.1", "-U", str(url.username)]
        while docker(*probe, check=False, timeout=30).find("accepting") < 0:
            assert time.perf_counter() - started < timeout, docker("logs", name, check=False)
            time.sleep(0.5)

    def train(self, image: str, *models: str) -> float:
        """The trainer Job with the quick profile, for ``models`` only: seconds it took."""
        started = time.perf_counter()
        out = self.run(
            self.name("trainer"),
            image,
            *self._env({**self.spec.env, "LAYERLENS_TRAIN_PROFILE": "quick"}),
            "-v",
            f"{self.volumes['models']}:{MODELS_MOUNT}",
            "-v",
            f"{self.volumes['data']}:{DATA_MOUNT}",
            command=models,
            detach=False,
        )
        log("trainer (tail): " + out.strip().splitlines()[-1])
        return time.perf_counter() - started

    def start_replica(self, image: str, workers: int) -> Replica:
        """One API pod: the Deployment's env (``workers`` per replica to fit the machine),
        read-only root and models, a scratch /tmp."""
        self._count += 1
        name = self.name(f"api-{self._count}")
        self.run(
            name,
            image,
            *self._env({**self.spec.env, "LAYERLENS_WORKERS": str(workers)}),
            "--read-only",
            "--tmpfs",
            "/tmp",
            "-v",
            f"{self.volumes['models']}:{MODELS_MOUNT}:ro",
            "-v",
            f"{self.volumes['data']}:{DATA_MOUNT}:ro",
        )
        return Replica(name, image, self.address(name))

    def kill(self, replica: Replica) -> None:
        self.signal(replica, "KILL")

    def signal(self, replica: Replica, name: str) -> None:
        """Send SIGname to the replica's main process (from the host: STOP and KILL reach a
        container's PID 1, which cannot ignore them)."""
        docker("kill", "--signal", name, replica.name)

    def stop(self, replica: Replica) -> tuple[float, int]:
        """SIGTERM, SIGKILL only after what is left of the grace period (the preStop pause
        counts against it, as in Kubernetes): seconds taken, exit code."""
        grace = int(self.spec.termination_grace_s - self.spec.pre_stop_sleep_s)
        started = time.perf_counter()
        docker("stop", "--time", str(grace), replica.name, timeout=grace + 30)
        took = time.perf_counter() - started
        return took, int(docker("inspect", "-f", "{{.State.ExitCode}}", replica.name))

    def logs(self, container: str, tail: int = 60) -> str:
        return docker("logs", "--tail", str(tail), container, check=False, timeout=30)

    def remove_all(self) -> None:
        """Every container, then the network and volumes of this run, whatever state."""
        selector = f"label={LABEL}={self.run_id}"
        ids = docker("ps", "-aq", "--filter", selector, check=False).split()
        if ids:
            docker("rm", "-f", "-v", *ids, check=False)
        docker("network", "rm", self.network, check=False)
        for volume in self.volumes.values():
            docker("volume", "rm", "-f", volume, check=False)

    @staticmethod
    def _env(values: dict[str, str]) -> list[str]:
        return [arg for key, value in values.items() for arg in ("-e", f"{key}={value}")]
