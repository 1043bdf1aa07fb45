"""What the benchmark measures: (scenario, server, concurrency) -> route and body."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks import payloads
from benchmarks.payloads import MODEL, Body

#: The convolutional model the explain rows measure beside ``MODEL``.
CNN = "digits-cnn"

OURS, CEILING, NAIVE, PEER = "layerlens", "ceiling", "naive", "mlserver"
#: layerlens as of an earlier commit (``--baseline REV``): the "today" of a speed-up ratio.
BASELINE = "baseline"
#: Scenarios the baseline build runs beside ours, for the ratios measured in the same run.
BASELINE_SCENARIOS = ("explain-ig-50", "explain-ig-50-cnn", "neighbors-k8")
#: Images per request of the many-file upload row.
MANY_PNGS = 50
#: The idiomatic FastAPI ceiling (pydantic body model), for context beside ``CEILING``.
CEILING_PYDANTIC = "ceiling-pydantic"
PREDICT_CONCURRENCY = (1, 8, 32, 128)
#: The acceptance point: JSON single-image predict at this many connections.
ACCEPTANCE_CONCURRENCY = 32
#: Rows of the alternating layerlens/ceiling rounds (benchmarks.run.paired_rounds).
PAIRED = "paired-predict-json"
#: One-PNG uploads driven right after layerlens' JSON row of each alternating round.
PAIRED_PNG = "paired-predict-png"


@dataclass(frozen=True)
class Case:
    scenario: str
    server: str
    concurrency: int
    path: str
    body: Body


def cases(images: np.ndarray, *, v2_input: str, servers: set[str]) -> list[Case]:
    """Every (scenario, server, concurrency) to run, grouped by server in start order."""
    one, two = images[0], images[1]
    predict = f"/v1/models/{MODEL}:predict"
    v2 = f"/v2/models/{MODEL}/infer"
    json_body = payloads.predict_json(one)
    out: list[Case] = []
    for c in PREDICT_CONCURRENCY:
        out.append(Case("predict-json", OURS, c, predict, json_body))
    interpolate = payloads.interpolate(two, one)
    out += [
        Case("predict-png", OURS, 32, predict, payloads.predict_png(one)),
        Case("predict-png-raw", OURS, 32, predict, payloads.predict_png_raw(one)),
        Case(f"predict-png-{MANY_PNGS}", OURS, 8, predict,
             payloads.predict_png(*images[:MANY_PNGS])),
        Case("predict-npy-1024", OURS, 4, predict, payloads.predict_npy(images[:1024])),
        Case("embed-json", OURS, 32, f"/v1/models/{MODEL}:embed", json_body),
        Case("interpolate-100", OURS, 8, f"/v1/models/{MODEL}:interpolate", interpolate),
        Case("v2-infer", OURS, 32, v2, payloads.v2_infer(one, v2_input)),
        # why: integrated gradients, 50 steps (51 rows through the gradient), MLP and CNN
        Case("explain-ig-50", OURS, 4, f"/v1/models/{MODEL}:explain?steps=50", json_body),
        Case("explain-ig-50-cnn", OURS, 4, f"/v1/models/{CNN}:explain?steps=50", json_body),
        # the 8 nearest of the 50,000-example train split, in the embedding
        Case("neighbors-k8", OURS, 8, f"/v1/models/{MODEL}:neighbors?k=8", json_body),
        # the out-of-distribution verdict on (its default method: a train-index search)
        Case("predict-json-ood", OURS, 32, f"{predict}?ood=true", json_body),
    ]  # fmt: skip
    for server in (CEILING, CEILING_PYDANTIC, NAIVE):
        out += [Case("predict-json", server, c, predict, json_body) for c in PREDICT_CONCURRENCY]
    peer_body = payloads.v2_infer(one, v2_input)
    out += [Case("predict-json", PEER, c, v2, peer_body) for c in PREDICT_CONCURRENCY]
    out.append(Case("v2-infer", PEER, 32, v2, peer_body))
    return [case for case in out if case.server in servers]
