"""The hostile-client corpus (issue 31), run against a real ``python -m service``.

Each attack is what a hostile or careless client can send with nothing but a socket: the
memory bombs through the image fit and JSON, the inputs that used to answer 500, header
floods, foreign pages, and slow bodies. Per attack this prints the answer (status), the
one documented, its time and the largest growth of any worker's peak RSS (``VmHWM``,
reset before each attack through ``/proc/<pid>/clear_refs``), and checks that the service
is still the same one afterwards (same worker pids, ready, a prediction answered).
``tests/security`` runs the same corpus and asserts it; ``docs/security.md`` holds a run's
table.

    python -m benchmarks.attacks --models-dir models --database-url sqlite:///var/layerlens.db
"""

from __future__ import annotations

import argparse
import io
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from benchmarks.servers import RunningServer, ServerSpec, _descendants, free_port, start
from service.bodies import SWEEP_FRACTION

MIB = 1024 * 1024
#: Where the slow senders connect from: another loopback address than the normal client.
ATTACKER_ADDRESS = "127.0.0.2"
#: The settings a hostile-client run starts the service with (the rest are defaults).
BODY_TIMEOUT_S = 20.0
SLOW_SENDERS = 300


@dataclass(frozen=True)
class Outcome:
    status: str
    """What came back: an HTTP status, a gRPC code, or a summary for the slow senders."""
    detail: str = ""


@dataclass(frozen=True)
class Attack:
    name: str
    expected: str
    run: Callable[[str, int], Outcome]
    """(base URL, gRPC port) -> what came back."""
    memory: bool = False
    """A memory attack: the worker's peak RSS growth must stay under the budget."""


def one_bit_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height), 1).save(out, "PNG")
    return out.getvalue()


def _http(method: str, path: str, **options: object) -> Callable[[str, int], Outcome]:
    def run(url: str, _grpc_port: int) -> Outcome:
        with httpx.Client(base_url=url, timeout=120.0) as client:
            response = client.request(method, path, **options)  # type: ignore[arg-type]
        return Outcome(str(response.status_code), response.text[:160])

    return run


def _upload(model: str, png: bytes, query: str = "") -> Callable[[str, int], Outcome]:
    files = {"files": ("attack.png", png, "image/png")}
    return _http("POST", f"/v1/models/{model}:predict{query}", files=files)


def _raw(request: bytes) -> Callable[[str, int], Outcome]:
    """Bytes on a socket, for what httpx will not send (oversized or odd headers)."""

    def run(url: str, _grpc_port: int) -> Outcome:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(request)
            head = sock.recv(4096)
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        return Outcome(line.split(" ")[1] if " " in line else line, line)

    return run


def _many_headers(count: int) -> bytes:
    lines = b"".join(b"x-h%d: 1\r\n" % i for i in range(count))
    return b"GET /v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\n" + lines + b"\r\n"


def _big_header(size: int) -> bytes:
    return b"GET /v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: " + b"a" * size + b"\r\n\r\n"


def _v2_body(names: list[str], outputs: int) -> dict[str, object]:
    data = [0.0] * 784
    inputs = [{"name": n, "datatype": "FP32", "shape": [1, 784], "data": data} for n in names]
    return {"inputs": inputs, "outputs": [{"name": "probabilities"}] * outputs}


def _grpc(version: str = "", outputs: int = 1) -> Callable[[str, int], Outcome]:
    def run(_url: str, grpc_port: int) -> Outcome:
        import tritonclient.grpc as grpcclient
        from tritonclient.utils import InferenceServerException

        client = grpcclient.InferenceServerClient(f"127.0.0.1:{grpc_port}")
        name = client.get_model_metadata("digits").inputs[0].name
        tensor = grpcclient.InferInput(name, [1, 784], "FP32")
        tensor.set_data_from_numpy(np.zeros((1, 784), dtype=np.float32))
        asked = [grpcclient.InferRequestedOutput("probabilities") for _ in range(outputs)]
        try:
            client.infer("digits", [tensor], model_version=version, outputs=asked)
        except InferenceServerException as error:
            return Outcome(str(error.status()).removeprefix("StatusCode."), error.message()[:160])
        finally:
            client.close()
        return Outcome("OK")

    return run


def _slow_senders(url: str, _grpc_port: int) -> Outcome:
    """Hundreds of bodies that never finish, from one address; the normal client (another
    address) must be answered all the while, and the senders must get 503 or 408. A sender
    refused with 503 has its connection closed while its unread body bytes sit in the
    server's socket buffer, which by TCP's rules is a reset: its recv may then fail before
    it reads the 503 ("reset"), a refusal all the same."""
    port = int(url.rsplit(":", 1)[1])
    head = (
        f"POST /v1/models/digits:predict HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        "content-type: application/json\r\ncontent-length: 100000\r\n\r\n{"
    ).encode()
    senders = []
    try:
        for _ in range(SLOW_SENDERS):
            sock = socket.socket()
            sock.bind((ATTACKER_ADDRESS, 0))
            sock.connect(("127.0.0.1", port))
            sock.sendall(head)
            senders.append(sock)
        time.sleep(0.5)
        with httpx.Client(base_url=url, timeout=30.0) as client:
            body = {"instances": [[0.0] * 784]}
            answers_normal = [
                client.post("/v1/models/digits:predict", json=body) for _ in range(20)
            ]
            normal = [response.status_code for response in answers_normal]
            ready = client.get("/v2/health/ready").status_code
        # a late read is cancelled up to a sweep after its deadline (service.bodies)
        time.sleep(BODY_TIMEOUT_S * (1 + SWEEP_FRACTION) + 1)
        answers: dict[str, int] = {}
        for sock in senders:
            sock.settimeout(2.0)
            try:
                status = sock.recv(64).split(b" ", 2)[1].decode()
            except ConnectionResetError:
                status = "reset"
            except (OSError, IndexError):
                status = "none"
            answers[status] = answers.get(status, 0) + 1
    finally:
        for sock in senders:
            sock.close()
    served = sum(code == 200 for code in normal)
    held = served == len(normal) and ready == 200 and set(answers) <= {"408", "503", "reset"}
    summary = f"normal {served}/{len(normal)} answered 200, ready {ready}, senders {answers}"
    return Outcome("ok" if held else "broken", summary)


_EMPTY_LISTS = b'{"instances": [' + b"[]," * 20_000_000 + b"[]]}"

ATTACKS: tuple[Attack, ...] = (
    Attack(
        "png 20000x800 pad-resize",
        "413",
        _upload("digits", one_bit_png(20000, 800), "?fit=pad-resize"),
        memory=True,
    ),
    Attack(
        "png 800x20000 pad-resize",
        "413",
        _upload("digits", one_bit_png(800, 20000), "?fit=pad-resize"),
        memory=True,
    ),
    Attack(
        "png 16000x1000 sklearn-digits",
        "422",
        _upload("sklearn-digits", one_bit_png(16000, 1000)),
        memory=True,
    ),
    Attack("png 16000000x1", "422", _upload("digits", one_bit_png(16_000_000, 1)), memory=True),
    Attack(
        "json 60 MB of empty lists",
        "413",
        _http(
            "POST",
            "/v1/models/digits:predict",
            content=_EMPTY_LISTS,
            headers={"content-type": "application/json"},
        ),
        memory=True,
    ),
    Attack(
        "v2 output named 1000 times",
        "400",
        _http("POST", "/v2/models/digits/infer", json=_v2_body(["input"], 1000)),
        memory=True,
    ),
    Attack(
        "v2 input named twice",
        "400",
        _http("POST", "/v2/models/digits/infer", json=_v2_body(["input", "input"], 1)),
    ),
    Attack("grpc output named 1000 times", "INVALID_ARGUMENT", _grpc(outputs=1000)),
    Attack(
        "version ²",
        "400",
        _http("POST", "/v1/models/digits/versions/²:predict", json={"instances": [[0] * 784]}),
    ),
    Attack("grpc version ²", "INVALID_ARGUMENT", _grpc(version="²")),
    Attack(
        "version of 5000 digits", "400", _http("GET", "/v1/models/digits/versions/" + "9" * 5000)
    ),
    Attack(
        "header length of 5000 digits",
        "400",
        _http(
            "POST",
            "/v2/models/digits/infer",
            content=b"{}",
            headers={"Inference-Header-Content-Length": "9" * 5000},
        ),
    ),
    Attack("/static/a%00b", "404", _http("GET", "/static/a%00b")),
    Attack(
        "cell listing start=2**63",
        "400",
        _http(
            "GET",
            "/v1/models/digits/metrics/examples",
            params={"true": 1, "predicted": 1, "start": 2**63},
        ),
    ),
    Attack(
        "alphas of ±1e308",
        "400",
        _http(
            "POST",
            "/v1/models/digits:interpolate",
            json={
                "a": {"instance": [0] * 784},
                "b": {"instance": [1] * 784},
                "alphas": [1e308, -1e308],
            },
        ),
    ),
    Attack("1 MB header value", "431", _raw(_big_header(MIB))),
    Attack("10000 headers", "431", _raw(_many_headers(10_000))),
    Attack(
        "foreign Host (DNS rebinding)",
        "400",
        _http("GET", "/v1/models", headers={"host": "attacker.example"}),
    ),
    Attack(
        "POST from a foreign page",
        "403",
        _http(
            "POST",
            "/v1/models/digits:predict",
            json={"instances": [[0] * 784]},
            headers={"origin": "http://attacker.example"},
        ),
    ),
    Attack(f"{SLOW_SENDERS} slow bodies from one address", "ok", _slow_senders),
)


# --- the service and its workers --------------------------------------------------------
def service_spec(models_dir: Path, database_url: str, grpc_port: int, workers: int) -> ServerSpec:
    env = {
        "LAYERLENS_MODELS_DIR": str(models_dir),
        "LAYERLENS_DATABASE_URL": database_url,
        "LAYERLENS_PORT": "{port}",
        "LAYERLENS_GRPC_PORT": str(grpc_port),
        "LAYERLENS_WORKERS": str(workers),
        "LAYERLENS_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
        "LAYERLENS_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "service"]
    return ServerSpec("attacks", command, "/v2/health/ready", env=env, workers=workers)


def worker_pids(server: RunningServer) -> list[int]:
    """The processes that answer requests (the supervisor's children, or the one process)."""
    children = [p for p in _descendants(server.process.pid) if _is_python(p)]
    return sorted(children) or [server.process.pid]


def _is_python(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"python" in command and b"resource_tracker" not in command


def reset_peaks(pids: list[int]) -> dict[int, int]:
    """Reset each process's peak RSS to its current RSS; -> current RSS (kB) per pid."""
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    return {pid: _status_kb(pid, "VmRSS") for pid in pids}


def peak_growth_mb(before: dict[int, int]) -> float:
    """The largest growth of a peak RSS since :func:`reset_peaks`, in MB."""
    return max((_status_kb(pid, "VmHWM") - kb) / 1024 for pid, kb in before.items())


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(f"{field} of {pid}")


def still_serving(url: str) -> str:
    """'' when the service is ready and answers a normal prediction, else what is wrong."""
    with httpx.Client(base_url=url, timeout=60.0) as client:
        ready = client.get("/v2/health/ready").status_code
        predict = client.post("/v1/models/digits:predict", json={"instances": [[0] * 784]})
    if ready != 200 or predict.status_code != 200:
        return f"ready {ready}, predict {predict.status_code}"
    return ""


def warm_up(url: str) -> None:
    """One normal JSON prediction and one PNG upload per worker (a few each, as the kernel
    spreads connections), so the first attack's RSS is not the first upload's imports."""
    png = one_bit_png(28, 28)
    with httpx.Client(base_url=url, timeout=60.0) as client:
        for _ in range(4):
            with httpx.Client(base_url=url, timeout=60.0) as fresh:  # a new connection each
                fresh.post(
                    "/v1/models/digits:predict", files={"files": ("w.png", png, "image/png")}
                )
            client.post("/v1/models/digits:predict", json={"instances": [[0] * 784]})


@dataclass(frozen=True)
class Result:
    attack: Attack
    outcome: Outcome
    seconds: float
    peak_growth_mb: float
    alive: str


def run_attack(server: RunningServer, grpc_port: int, attack: Attack) -> Result:
    pids = worker_pids(server)
    before = reset_peaks(pids)
    started = time.perf_counter()
    outcome = attack.run(server.base_url, grpc_port)
    seconds = time.perf_counter() - started
    growth = peak_growth_mb(before)
    problem = still_serving(server.base_url)
    if worker_pids(server) != pids:
        problem = f"workers changed: {pids} -> {worker_pids(server)}"
    return Result(attack, outcome, seconds, growth, problem)


def table(results: list[Result]) -> str:
    lines = [
        "| attack | answer | expected | time | peak RSS growth | service after |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.attack.name} | {r.outcome.status} | {r.attack.expected} | "
            f"{r.seconds * 1000:.0f} ms | {r.peak_growth_mb:.0f} MB | "
            f"{r.alive or 'same pids, ready, 200'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--database-url", default="sqlite:///var/layerlens.db")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    grpc_port = free_port()
    spec = service_spec(args.models_dir, args.database_url, grpc_port, args.workers)
    server = start(spec)
    try:
        warm_up(server.base_url)
        results = [run_attack(server, grpc_port, attack) for attack in ATTACKS]
    finally:
        server.stop()
    print(table(results))
    failed = [r.attack.name for r in results if r.outcome.status != r.attack.expected or r.alive]
    if failed:
        sys.exit(f"not as documented: {', '.join(failed)}")


if __name__ == "__main__":
    main()
