"""Replicas, failover and rolling updates through a real load balancer (HAProxy from
Debian), run as deploy/kubernetes declares the Deployment.

Three API replicas (one worker each: three on a 2-core machine) share one read-only model
volume and one PostgreSQL; HAProxy routes to the replicas its readiness check passes
(GET /v2/health/ready, the Deployment's period and failure threshold), as a Service routes
to ready endpoints. Under steady load through the SDK, in order:

1. steady: three replicas, each answering.
2. rolling update to a new image, as maxSurge 1 / maxUnavailable 0 does it: for each old
   replica, start a new one, wait until the proxy finds it ready, then take an old one out
   of rotation, wait the preStop pause and SIGTERM it. No call fails or needs a retry.
3. SIGKILL of one replica (stopped first until it holds a call, so that it dies holding
   one): only the calls it held fail at first (each shows in the proxy's
   log as that replica's 502), and the SDK retries every one of them successfully.
4. graceful stop of another (out of rotation, preStop pause, SIGTERM): nothing fails.

Marked ``docker``: ``pytest -m docker tests/docker/test_failover.py -s``. It prints the
counts table that docs/deploy.md reports. The tests run in file order over one load.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.docker import engine
from tests.docker.compose import log
from tests.docker.fleet import ROOT, DeploymentSpec, Fleet, Replica, docker
from tests.docker.proxy import ADMIN_PORT, EDGE_DOCKERFILE, FRONTEND_PORT, HAPROXY_DIR, Proxy
from tests.docker.sdk_load import PhaseCounts, SdkLoad

pytestmark = pytest.mark.docker

MODEL = "xor"  # trains in seconds; the point here is the requests, not the model
INSTANCES = [[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]]
WORKERS_PER_REPLICA = 1  # 3 replicas x 1 worker on 2 cores (the Deployment says 2 per pod)
LOAD_THREADS = 4
IMAGES = {"api": "ll-fo-api:v1", "trainer": "ll-fo-trainer:v1", "proxy": "ll-fo-haproxy:test"}
NEW_IMAGE = "ll-fo-api:v2"
BUILD_TIMEOUT_S = 1800.0
POSTGRES_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 180.0
STEADY_S = 3.0
AFTER_KILL_S = 3.0  # load kept on after the proxy dropped the killed replica
SETTLE_S = 1.0  # calls under way at the end of a phase finish before it is counted
KILL_AIM_S = 3.0  # how long the stopped victim may take to be sent a request


@dataclass
class Cluster:
    spec: DeploymentSpec
    fleet: Fleet
    proxy: Proxy
    proxy_container: str
    load: SdkLoad
    replicas: list[Replica]
    phases: list[PhaseCounts] = field(default_factory=list)
    phase_started: float = 0.0
    log_seen: int = 0

    def proxy_log(self) -> list[str]:
        """The proxy's request log: only abnormal requests (option dontlog-normal)."""
        out = docker("logs", self.proxy_container, check=False, timeout=30)
        return [line for line in out.splitlines() if line.startswith("replicas/")]

    def end_phase(self, name: str) -> tuple[PhaseCounts, list[str]]:
        """Count the calls started since the last phase ended; the proxy's log lines since."""
        ended = time.monotonic()
        time.sleep(SETTLE_S)
        counts = self.load.counts(name, self.phase_started, ended)
        self.phase_started = ended
        lines = self.proxy_log()
        new, self.log_seen = lines[self.log_seen :], len(lines)
        self.phases.append(counts)
        log(f"phase {name}: {counts}; proxy log: {new or 'nothing abnormal'}")
        return counts, new

    def start_replica(self, image: str) -> tuple[Replica, float]:
        """A new pod: started, added to the proxy not ready, in rotation once the proxy's
        readiness check passed. Returns it and the seconds until then."""
        started = time.perf_counter()
        replica = self.fleet.start_replica(image, WORKERS_PER_REPLICA)
        self.proxy.add(replica.name, replica.address, int(self.spec.env["LAYERLENS_PORT"]))
        try:
            self.proxy.wait_ready(replica.name, timeout=READY_TIMEOUT_S)
        except AssertionError:
            log(self.fleet.logs(replica.name))
            raise
        return replica, time.perf_counter() - started

    def stop_gracefully(self, replica: Replica) -> tuple[float, int]:
        """As Kubernetes ends a pod: the endpoint goes, the preStop pause, then SIGTERM
        with the rest of the grace period. Seconds SIGTERM took and the exit code."""
        self.proxy.remove(replica.name)
        time.sleep(self.spec.pre_stop_sleep_s)
        took, code = self.fleet.stop(replica)
        if code != 0:  # what the replica said while it would not stop
            log(f"{replica.name} exited {code}:\n{self.fleet.logs(replica.name, tail=40)}")
        self.proxy.delete(replica.name)
        self.replicas.remove(replica)
        return took, code


def _build_images() -> None:
    started = time.perf_counter()
    for target in ("api", "trainer"):
        docker("build", "-q", "--target", target, "-t", IMAGES[target], str(ROOT),
               timeout=BUILD_TIMEOUT_S)  # fmt: skip
    docker("build", "-q", "-f", str(EDGE_DOCKERFILE), "-t", IMAGES["proxy"], str(HAPROXY_DIR),
           timeout=BUILD_TIMEOUT_S)  # fmt: skip
    # The new version: the same software under a new image id, as a release would be.
    subprocess.run(
        ["docker", "build", "-q", "-t", NEW_IMAGE, "-"],
        input=f"FROM {IMAGES['api']}\nLABEL org.layerlens.failover-test=v2\n",
        text=True,
        capture_output=True,
        check=True,
    )
    log(f"images built (cached layers reused) in {time.perf_counter() - started:.0f} s")


def _start_proxy(fleet: Fleet, spec: DeploymentSpec) -> tuple[Proxy, str]:
    name = fleet.name("proxy")
    fleet.run(
        name,
        IMAGES["proxy"],
        "-p",
        f"127.0.0.1::{FRONTEND_PORT}",
        "-p",
        f"127.0.0.1::{ADMIN_PORT}",
    )
    address = fleet.address(name)
    proxy = Proxy(f"http://{address}:{FRONTEND_PORT}", (address, ADMIN_PORT), spec.readiness)
    try:
        proxy.command("show info")
    except OSError:  # container addresses unreachable from here: the published ports
        ports = {
            port: int(docker("port", name, str(port)).split(":")[-1])
            for port in (FRONTEND_PORT, ADMIN_PORT)
        }
        proxy.url = f"http://127.0.0.1:{ports[FRONTEND_PORT]}"
        proxy.admin = ("127.0.0.1", ports[ADMIN_PORT])
    return proxy, name


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    engine.require(request.config, ROOT)
    spec = DeploymentSpec.load()
    assert (spec.max_surge, spec.max_unavailable) == (1, 0), "the test rolls as 1 / 0 does"
    fleet = Fleet(uuid.uuid4().hex[:8], spec)
    log(f"failover run {fleet.name('*')}: {spec}")
    load: SdkLoad | None = None
    cluster: Cluster | None = None
    try:
        _build_images()
        fleet.create()
        started = time.perf_counter()
        fleet.start_postgres(timeout=POSTGRES_TIMEOUT_S)
        trained = fleet.train(IMAGES["trainer"], MODEL)
        log(f"PostgreSQL up and {MODEL} trained into the shared volume: {trained:.0f} s")
        proxy, proxy_container = _start_proxy(fleet, spec)
        load = SdkLoad(proxy.url, lambda c: c.predict(MODEL, INSTANCES), threads=LOAD_THREADS)
        cluster = Cluster(spec, fleet, proxy, proxy_container, load, [])
        replicas: list[Replica] = []
        port = int(spec.env["LAYERLENS_PORT"])
        # The replicas at rest (the HPA's minimum, 2) plus one, so that one is left after
        # the kill and the stop.
        for _ in range(spec.replicas + 1):
            replica = fleet.start_replica(IMAGES["api"], WORKERS_PER_REPLICA)
            proxy.add(replica.name, replica.address, port)
            replicas.append(replica)
        for replica in replicas:
            proxy.wait_ready(replica.name, timeout=READY_TIMEOUT_S)
        cluster.replicas = replicas
        log(
            f"{len(replicas)} replicas ready behind the proxy "
            f"{time.perf_counter() - started:.0f} s after PostgreSQL started"
        )
        load.start()
        cluster.phase_started = time.monotonic()
        yield cluster
    except BaseException:
        if cluster is not None:
            log("proxy log:\n" + "\n".join(cluster.proxy_log()[-50:]))
            for replica in cluster.replicas:
                log(f"{replica.name}:\n{fleet.logs(replica.name, tail=20)}")
        raise
    finally:
        if load is not None:
            load.stop()
        fleet.remove_all()


def test_every_replica_answers_through_the_proxy(cluster: Cluster) -> None:
    time.sleep(STEADY_S)
    counts, abnormal = cluster.end_phase("steady, 3 replicas")
    assert counts.sent > 0 and counts.failed == 0 and counts.retried == 0, counts
    assert abnormal == []
    served = {name: int(row["stot"]) for name, row in cluster.proxy.servers().items()}
    assert sorted(served) == sorted(r.name for r in cluster.replicas)
    assert all(n > 0 for n in served.values()), served


def test_a_rolling_update_fails_no_call(cluster: Cluster) -> None:
    """maxSurge 1, maxUnavailable 0: one new replica ready before each old one goes."""
    desired = len(cluster.replicas)
    old = list(cluster.replicas)
    for replica in old:
        new, ready_s = cluster.start_replica(NEW_IMAGE)
        cluster.replicas.append(new)
        assert len(cluster.proxy.in_rotation()) == desired + 1  # the surge
        took, code = cluster.stop_gracefully(replica)
        log(f"  {new.name} ({NEW_IMAGE}) ready in {ready_s:.1f} s; {replica.name} stopped "
            f"in {took:.1f} s after SIGTERM, exit {code}")  # fmt: skip
        assert code == 0 and took < cluster.spec.termination_grace_s
        assert len(cluster.proxy.in_rotation()) == desired  # never fewer than desired
    counts, abnormal = cluster.end_phase("rolling update, 3 replicas")
    assert counts.failed == 0 and counts.retried == 0, counts
    assert abnormal == []
    assert {r.image for r in cluster.replicas} == {NEW_IMAGE}
    ids = {docker("inspect", "-f", "{{.Image}}", r.name).strip() for r in cluster.replicas}
    assert ids == {docker("image", "inspect", "-f", "{{.Id}}", NEW_IMAGE).strip()}
    served = {name: int(row["stot"]) for name, row in cluster.proxy.servers().items()}
    assert sorted(served) == sorted(r.name for r in cluster.replicas)
    assert all(n > 0 for n in served.values()), f"a new replica answered nothing: {served}"


def test_a_killed_replica_costs_only_its_own_calls_each_retried(cluster: Cluster) -> None:
    """What the killed replica held fails once and is retried by the SDK; nothing else.

    HAProxy's own counters for the victim show it broke requests when it died
    (``srv_abrt``/``eresp``, counted per connection attempt, so not equal to the client's
    calls) and how many it sent there afterwards but could not connect, and so sent to
    another replica (``wredis``: never sent, so safe). The broken calls reached the client
    in every run as a connection closed unanswered (the calls use kept-alive
    connections), never as a 502: the SDK retries both.
    """
    phase_started = cluster.phase_started
    victim = cluster.replicas[0]
    # SIGKILL while it holds a request. An xor call takes about a millisecond and docker's
    # round trip tens of them, so aiming at a moment when the proxy shows one in flight
    # missed now and then (a CI run's kill caught no call). The replica is stopped first
    # (SIGSTOP: it still accepts connections, as a process stuck in a long call does) until
    # the proxy has sent it a request, then killed: it dies holding at least one.
    cluster.fleet.signal(victim, "STOP")
    held_until = time.monotonic() + KILL_AIM_S
    while int(cluster.proxy.servers()[victim.name]["scur"]) == 0:
        assert time.monotonic() < held_until, "the proxy sent the stopped replica nothing"
        time.sleep(0.01)
    kill_sent = time.monotonic()
    cluster.fleet.kill(victim)
    # It is gone whatever the checks below find: the next test stops another replica.
    cluster.replicas.remove(victim)
    try:
        while cluster.proxy.servers()[victim.name]["status"] != "DOWN":
            assert time.monotonic() - kill_sent < 30, "the proxy never noticed the SIGKILL"
            time.sleep(0.05)
        down = time.monotonic()
        noticed = down - kill_sent
        time.sleep(AFTER_KILL_S)
        counts, abnormal = cluster.end_phase("SIGKILL of 1 of 3")
        servers = cluster.proxy.servers()
        # What the proxy saw it break: requests aborted mid-way (srv_abrt) plus responses it
        # never got (eresp). Its counters are per connection attempt, not per client call, so
        # they bound the picture rather than equal the SDK's count (CI runs saw 3 and 6 for 4
        # calls retried); the SDK's own count is what the assertions below hold exactly.
        victim_row = servers[victim.name]
        held = int(victim_row["srv_abrt"]) + int(victim_row["eresp"])
        redispatched = int(victim_row["wredis"])
        log(
            f"  the proxy took the killed replica out of rotation {noticed:.2f} s after the "
            f"SIGKILL; it held {held} requests, {redispatched} more went to another replica"
        )
        assert counts.failed == 0, counts  # after the SDK's retries, nothing failed
        calls = cluster.load.between(phase_started, cluster.phase_started)
        retried = [o for o in calls if o.retries > 0]
        # Only calls under way while the replica died (it dies over a few hundred ms: docker's
        # round trip, then the kernel tearing down a TensorFlow process; its listening socket
        # still takes connections meanwhile), at most one per load thread, each retried once.
        assert all(o.started <= down and o.ended >= kill_sent for o in retried), retried
        assert 1 <= len(retried) <= LOAD_THREADS, "the kill caught no call in flight"
        assert counts.retries == len(retried), counts  # each retried once, then answered
        assert held >= 1, f"the proxy saw the killed replica break nothing: {victim_row}"
        assert set(counts.causes) <= {"RemoteProtocolError", "ReadError", "502"}, counts
        # No other replica broke a request; the proxy answered no 5xx; what it logged as
        # abnormal are the redispatched requests, all answered 200.
        others = {name: row for name, row in servers.items() if name != victim.name}
        assert all(int(row["srv_abrt"]) == int(row["eresp"]) == 0 for row in others.values())
        assert all(int(row["hrsp_5xx"]) == 0 for row in servers.values())
        assert [line.split()[1] for line in abnormal] == ["200"] * redispatched, abnormal
    finally:
        cluster.proxy.remove(victim.name)  # the dead endpoint is cleaned up
        cluster.proxy.delete(victim.name)


def test_a_graceful_stop_fails_no_call(cluster: Cluster) -> None:
    victim = cluster.replicas[0]
    took, code = cluster.stop_gracefully(victim)
    log(f"  {victim.name} stopped in {took:.1f} s after SIGTERM, exit {code}")
    time.sleep(STEADY_S)  # the last replica carries the load alone
    counts, abnormal = cluster.end_phase("graceful stop of 1 of 2")
    assert code == 0 and took < cluster.spec.termination_grace_s
    assert counts.failed == 0 and counts.retried == 0, counts
    assert abnormal == []
    assert cluster.proxy.in_rotation() == [r.name for r in cluster.replicas]
    assert httpx.get(f"{cluster.proxy.url}/v2/health/ready", timeout=5).status_code == 200


def test_report(cluster: Cluster) -> None:
    rows = "\n".join(p.row() for p in cluster.phases)
    total = sum(p.sent for p in cluster.phases)
    log(
        "\n| phase | calls | failed | calls retried | retries |\n|---|---|---|---|---|\n"
        f"{rows}\n(total {total} calls over {len(cluster.phases)} phases, "
        f"{LOAD_THREADS} SDK threads)"
    )
    assert len(cluster.phases) == 4
