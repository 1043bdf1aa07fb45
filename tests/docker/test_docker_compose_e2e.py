"""End to end through docker compose, as a user deploys: build the images, `up` the stack
(PostgreSQL, the one-shot trainer with the quick profile, the API behind the edge), classify
PNG uploads through the edge, see the edge refuse past a forced small limit, read the
metrics the trainer stored in PostgreSQL, restart the API and re-run the trainer without
losing anything, stop the API under load without dropping a request, `down -v`.

Marked ``docker`` (the default run deselects it): ``pytest -m docker tests/docker``. It
prints every phase, the build time, image sizes and start-up times, even under capture.
The tests share one stack and run in file order; each states what it checks.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.docker import engine
from tests.docker.compose import ComposeProject, compose_cli, log
from tests.docker.load import LoadRun

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
MODEL = "digits"
EXAMPLES = 24  # MNIST test images classified through PNG uploads
MIN_ACCURACY = 0.6  # the quick profile reaches about 0.85-0.9 on MNIST
UP_TIMEOUT_S = 1800.0  # cold build caches aside, `up` includes quick training of every model
READY_TIMEOUT_S = 300.0
LOAD_THREADS = 8
LOAD_WARMUP_S = 3.0
API_CONTAINER_PORT = 8000
STOP_GRACE_PERIOD_S = 30.0  # docker-compose.yml's default


@dataclass
class Stack:
    project: ComposeProject
    url: str  # the API through its published port (the edge's)
    edge_metrics_url: str  # the edge's own Prometheus endpoint

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _image_size_mb(image: str) -> float:
    out = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Size}}", image],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip()) / 1e6


def _wait_ready(url: str, *, timeout: float) -> float:
    """Seconds until GET /v2/health/ready answers 200 (finer than the engine's healthcheck)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2.0).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} not ready after {timeout:.0f} s")


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    engine.require(request.config, ROOT)
    cli = compose_cli()
    if cli is None:
        engine.unavailable("neither `docker compose` nor `docker-compose` is installed")
    port = _free_port()
    edge_metrics_port = _free_port()
    env = {
        **os.environ,
        "LAYERLENS_TRAIN_PROFILE": "quick",
        "LAYERLENS_API_PORT": str(port),
        "LAYERLENS_EDGE_METRICS_PORT": str(edge_metrics_port),
        "LAYERLENS_IMAGE_TAG": "e2e",
    }
    project = ComposeProject(cli, ROOT, f"layerlens-e2e-{uuid.uuid4().hex[:8]}", env)
    log(f"compose CLI: {' '.join(cli)}; project {project.name}; API on 127.0.0.1:{port}")
    try:
        project.timed("build", "build")
        sizes = {s: _image_size_mb(f"layerlens-{s}:e2e") for s in ("api", "trainer", "edge")}
        log(
            f"build: {project.timings['build']:.0f} s; image sizes: "
            + ", ".join(f"{s} {mb:.0f} MB" for s, mb in sizes.items())
        )
        started = time.perf_counter()
        project.run("up", "-d", timeout=UP_TIMEOUT_S)
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, timeout=READY_TIMEOUT_S)
        log(
            f"up (trainer quick profile included) until the API is ready: "
            f"{time.perf_counter() - started:.0f} s"
        )
        project.wait_healthy("api", timeout=READY_TIMEOUT_S)
        yield Stack(project, url, f"http://127.0.0.1:{edge_metrics_port}/metrics")
    except BaseException:
        log("logs:\n" + project.logs())
        raise
    finally:
        project.run("down", "-v", "--remove-orphans", check=False, timeout=600)


def _png(instance: list[list[int]]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(instance, dtype=np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def _examples(client: httpx.Client, count: int) -> tuple[list[list[list[int]]], list[int]]:
    instances, labels = [], []
    for index in range(count):
        response = client.get(f"/v1/datasets/mnist-test/{index}")
        assert response.status_code == 200, response.text
        body = response.json()
        instances.append(body["instance"])
        labels.append(body["label"])
    return instances, labels


def _predict_pngs(client: httpx.Client, pngs: list[bytes]) -> list[dict]:
    files = [("files", (f"{i}.png", data, "image/png")) for i, data in enumerate(pngs)]
    response = client.post(f"/v1/models/{MODEL}:predict", files=files)
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def _stored_test_accuracy(project: ComposeProject) -> float:
    """Straight from PostgreSQL, not through the API."""
    query = (
        "SELECT data->>'accuracy' FROM evaluations "
        f"WHERE model = '{MODEL}' AND kind = 'test' ORDER BY version DESC LIMIT 1"
    )
    out = project.exec(
        "db", ["sh", "-c", f'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -At -c "{query}"']
    )
    return float(out.strip())


def _snapshot(stack: Stack, pngs: list[bytes]) -> dict:
    with stack.client() as client:
        return {
            "models": client.get("/v1/models").json(),
            "predictions": _predict_pngs(client, pngs),
            "metrics": client.get(f"/v1/models/{MODEL}/metrics").json(),
        }


def test_stack_is_up_with_a_trained_model_and_several_workers(stack: Stack) -> None:
    project = stack.project
    assert project.health("db") == "healthy"
    assert project.exit_code("trainer") == 0
    assert project.health("api") == "healthy"
    processes = project.run("top", "api", quiet=True).stdout
    servers = [line for line in processes.splitlines() if "python" in line or "layerlens" in line]
    assert len(servers) >= 3, f"expected a master and two workers:\n{processes}"
    with stack.client() as client:
        names = {m["name"] for m in client.get("/v1/models").json()["models"]}
    assert MODEL in names


def test_png_uploads_are_classified(stack: Stack) -> None:
    with stack.client() as client:
        instances, labels = _examples(client, EXAMPLES)
        predictions = _predict_pngs(client, [_png(x) for x in instances])
        inline = client.post(f"/v1/models/{MODEL}:predict", json={"instances": instances})
    assert inline.status_code == 200, inline.text
    predicted = [p["class_id"] for p in predictions]
    accuracy = float(np.mean(np.equal(predicted, labels)))
    log(f"PNG predictions: accuracy {accuracy:.2f} on {EXAMPLES} MNIST test images")
    assert accuracy >= MIN_ACCURACY
    # A lossless PNG of a 28x28 image is the same input as the inline pixels.
    for png, same in zip(predictions, inline.json()["predictions"], strict=True):
        np.testing.assert_allclose(png["probabilities"], same["probabilities"], atol=1e-5)


def test_health_and_metrics_reach_the_api_through_the_edge(stack: Stack) -> None:
    """The edge counts what it passed on, and probes and scrapes still reach the API."""
    with stack.client() as client:
        assert client.get("/v2/health/live").status_code == 200
        assert client.get("/v2/health/ready").status_code == 200
        api_metrics = client.get("/metrics")
    assert api_metrics.status_code == 200
    assert "layerlens_requests_in_flight" in api_metrics.text  # the API's, not the edge's
    edge = httpx.get(stack.edge_metrics_url, timeout=10.0)
    assert edge.status_code == 200
    answered = [
        float(line.rsplit(" ", 1)[1])
        for line in edge.text.splitlines()
        if line.startswith("haproxy_backend_http_responses_total{")
        and 'proxy="replicas"' in line
        and 'code="2xx"' in line
    ]
    assert answered and sum(answered) > 0, "the edge counted no answered request"


def _edge_with_small_limit(stack: Stack, name: str) -> str:
    """A second edge on the same network, forced to one request at a time per replica and
    a queue of two that times out after 1 ms; its URL."""
    port = _free_port()
    stack.project.run(
        "run", "-d", "--no-deps", "--name", name, "-p", f"127.0.0.1:{port}:8080",
        "-e", "LAYERLENS_EDGE_MAXCONN=1",
        "-e", "LAYERLENS_EDGE_MAX_QUEUE=2",
        "-e", "LAYERLENS_EDGE_QUEUE_TIMEOUT_MS=1",
        "edge",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, timeout=60.0)
    return url


def test_the_edge_refuses_past_its_limit_with_retry_after(stack: Stack) -> None:
    with stack.client() as client:
        instances, _ = _examples(client, 16)
    body = {"instances": instances}
    name = f"{stack.project.name}-small-edge"
    try:
        url = _edge_with_small_limit(stack, name)

        def send(_: int) -> httpx.Response:
            with httpx.Client(base_url=url, timeout=60.0) as client:
                return client.post(f"/v1/models/{MODEL}:predict", json=body)

        with ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(send, range(256)))
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    statuses = [a.status_code for a in answers]
    refused = [a for a in answers if a.status_code == 503]
    log(f"32 clients through an edge of 1 in flight: {statuses.count(200)} x 200, "
        f"{len(refused)} x 503")  # fmt: skip
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) > 0 and refused, statuses
    for answer in refused:
        assert answer.headers["retry-after"] == "1"
        assert answer.headers["content-type"].startswith("application/json")
        error = answer.json()
        assert error["code"] == "overloaded" and "overloaded" in error["error"], error


def test_metrics_the_trainer_stored_in_postgres_are_served(stack: Stack) -> None:
    stored = _stored_test_accuracy(stack.project)
    with stack.client() as client:
        response = client.get(f"/v1/models/{MODEL}/metrics", params={"kind": "test"})
    assert response.status_code == 200, response.text
    (evaluation,) = response.json()["evaluations"]
    assert evaluation["data"]["accuracy"] == pytest.approx(stored)
    assert MIN_ACCURACY <= stored <= 1.0


def test_restarting_the_api_and_rerunning_the_trainer_loses_nothing(stack: Stack) -> None:
    project = stack.project
    with stack.client() as client:
        instances, _ = _examples(client, 4)
    pngs = [_png(x) for x in instances]
    before = _snapshot(stack, pngs)

    project.run("stop", "api")
    started = time.perf_counter()
    project.run("start", "api")
    cold = _wait_ready(stack.url, timeout=READY_TIMEOUT_S)
    log(
        f"API cold start (container start until ready): {cold:.1f} s "
        f"({time.perf_counter() - started:.1f} s including `start`)"
    )
    project.wait_healthy("api", timeout=READY_TIMEOUT_S)
    assert _snapshot(stack, pngs) == before

    # The trainer is idempotent: a second run finds every model and trains nothing.
    rerun = project.run("run", "--rm", "trainer", timeout=UP_TIMEOUT_S)
    log("trainer re-run output (tail):\n" + (rerun.stdout + rerun.stderr)[-1500:])
    with stack.client() as client:
        assert client.get("/v1/models").json() == before["models"]


def _container_url(stack: Stack) -> str:
    """The API's container address: bypasses the engine's port proxy, which would accept
    connections on the API's behalf and blur "refused" into "dropped"."""
    url = f"http://{stack.project.ip_address('api')}:{API_CONTAINER_PORT}"
    try:
        httpx.get(f"{url}/v2/health/live", timeout=2.0)
    except httpx.HTTPError:
        log("container address unreachable from here; using the published port")
        return stack.url
    return url


def test_stopping_under_load_drops_no_accepted_request(stack: Stack) -> None:
    """Every request under way at SIGTERM is answered 200, the server exits 0 by itself.

    Requests sent after SIGTERM may be refused (the supervisor and then each worker
    stop listening), or reset while still queued in the kernel's accept backlog when the
    listening socket closes, or closed unread by a worker that is shutting down (the
    server never read them); what must never happen to them is an error answer or a
    reset after a partial answer.
    """
    project = stack.project
    with stack.client() as client:
        instances, _ = _examples(client, 8)
    body = {"instances": instances}
    url = _container_url(stack)
    load = LoadRun(
        lambda c: c.post(f"{url}/v1/models/{MODEL}:predict", json=body), threads=LOAD_THREADS
    )
    load.start()
    time.sleep(LOAD_WARMUP_S)
    stop_sent = time.monotonic()
    project.timed("stop", "stop", "api")
    stopped = time.monotonic()
    load.stop()
    in_flight = load.in_flight_at(stop_sent)
    log(
        f"graceful stop took {stopped - stop_sent:.1f} s under load; requests: {load.summary()}; "
        f"in flight at SIGTERM and answered: {len(in_flight)}"
    )
    for o in load.dropped():
        log(
            f"  not answered: {o.error or o.status} {o.detail!r}, "
            f"sent {o.started - stop_sent:+.3f} s, "
            f"failed {o.ended - stop_sent:+.3f} s after SIGTERM (the API exited by "
            f"{stopped - stop_sent:+.3f} s)"
        )
    assert load.ok(), "the load never got an answer"
    assert in_flight, "no request was in flight when the API was stopped"
    failed_in_flight = [o for o in load.sent_before(stop_sent) if o.status != 200]
    assert failed_in_flight == [], "requests under way at SIGTERM were dropped"
    late = [o for o in load.dropped() if o.started >= stop_sent]
    assert all(o.never_answered for o in late), late
    assert stopped - stop_sent < STOP_GRACE_PERIOD_S
    # 0: the server exited by itself (SIGKILL after the grace period would give 137).
    assert project.exit_code("api") == 0
