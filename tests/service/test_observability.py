"""Prometheus metrics, OpenAPI completeness, and the JSON log format."""

from __future__ import annotations

import json
import logging

import httpx

from service.logs import JsonFormatter


def test_metrics_count_requests_by_route_template_and_model(http: httpx.Client) -> None:
    http.post("/v1/models/xor:predict", json={"instances": [[0, 1]]})
    http.post("/v1/models/not-a-model:predict", json={"instances": [[0, 1]]})
    text = http.get("/metrics").text
    assert 'route="/v1/models/{model}:predict"' in text
    assert 'model="xor"' in text and 'model="not-a-model"' not in text
    assert "layerlens_request_duration_seconds_bucket" in text
    assert 'layerlens_batch_size_count{model="xor"}' in text
    loaded = next(line for line in text.splitlines() if line.startswith("layerlens_models_loaded"))
    versions = sum(len(m["versions"]) for m in http.get("/v1/models").json()["models"])
    assert float(loaded.split()[-1]) == versions == 6


def test_openapi_documents_every_route_with_examples(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/v1/models/{model}:predict",
        "/v1/models/{model}/versions/{version}:interpolate",
        "/v1/models/{model}/metrics",
        "/v1/datasets/{ref}/{index}",
        "/v2/models/{model}/infer",
        "/v1/admin/reload",
    ):
        assert path in paths, path
    predict = paths["/v1/models/{model}:predict"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data", "application/x-npy"} <= set(predict)
    assert predict["application/json"]["examples"]
    versioned = paths["/v1/models/{model}/versions/{version}:predict"]["post"]["parameters"]
    assert "version" in [p["name"] for p in versioned]
    assert http.get("/docs").status_code == 200


def test_json_log_lines_carry_the_request_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "layerlens.access", "msg": "POST x", "levelname": "INFO", "status": 200}
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["status"] == 200 and line["message"] == "POST x" and line["level"] == "info"
