"""A made-up digits service behind httpx.MockTransport, shared by the tests of the SDK's
per-input analyses (``explain``, ``neighbors``): the digits manifest, dataset examples, a
subclass's answer to the POST, every request recorded; and the mixed batch of inputs whose
requests those tests check, and two dataset examples with the request they must go as."""

from __future__ import annotations

import asyncio
import io
import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import numpy as np
import pytest
from PIL import Image

from clients import AsyncClient, Client, DatasetRef
from clients.cli import _common

T = TypeVar("T")

SHAPE = (28, 28)
DIGITS = {
    "name": "digits",
    "version": 2,
    "versions": [1, 2],
    "class_names": [str(d) for d in range(10)],
    "input": {"kind": "image", "shape": list(SHAPE), "value_range": [0.0, 255.0]},
}


def png_bytes(value: int = 200) -> bytes:
    """A 28x28 grayscale PNG: a vertical bar of ``value`` on black."""
    buffer = io.BytesIO()
    image = np.zeros(SHAPE, dtype=np.uint8)
    image[6:22, 12:16] = value
    Image.fromarray(image, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


class FakeDigitsService(ABC):
    """GETs answer the digits manifest and ``example``'s dataset examples; a POST answers
    ``status`` with ``error``, or, when 200, the subclass's ``answer``."""

    def __init__(self, status: int = 200, error: dict[str, Any] | None = None) -> None:
        self.seen: list[httpx.Request] = []
        self.answered = 0
        self.status, self.error = status, error

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.method == "GET" and request.url.path.startswith("/v1/datasets/"):
            dataset, index = request.url.path.rsplit("/", 2)[1:]
            return httpx.Response(200, json=self.example(dataset, int(index)))
        if request.method == "GET":
            return httpx.Response(200, json=DIGITS)
        if self.status != 200:
            return httpx.Response(self.status, json=self.error)
        return httpx.Response(200, json=self.answer(request))

    @abstractmethod
    def example(self, dataset: str, index: int) -> dict[str, Any]:
        raise NotImplementedError

    @abstractmethod
    def answer(self, request: httpx.Request) -> dict[str, Any]:
        raise NotImplementedError

    def inputs(self, request: httpx.Request) -> int:
        """How many inputs one POST carried (files in a form, or the JSON list)."""
        if request.headers["content-type"].startswith("multipart/form-data"):
            return request.read().count(b'name="files"')
        body = json.loads(request.read())
        return len(body.get("examples") or body.get("instances"))

    def client(self) -> Client:
        """An SDK client answered by this service (no retry pauses)."""
        return Client("http://layerlens.test", transport=httpx.MockTransport(self), backoff_s=0.0)

    def run_async(self, call: Callable[[AsyncClient], Awaitable[T]]) -> T:
        """``call`` on an AsyncClient answered by this service, run to its end."""

        async def scenario() -> T:
            transport = httpx.MockTransport(self)
            async with AsyncClient("http://layerlens.test", transport=transport) as client:
                return await call(client)

        return asyncio.run(scenario())

    def posts(self) -> list[httpx.Request]:
        return [r for r in self.seen if r.method == "POST"]

    @staticmethod
    def two_examples() -> list[Any]:
        """MNIST test examples 1 and 2, named as a string and as a ``DatasetRef``."""
        return ["mnist-test:1", DatasetRef("mnist-test", 2)]

    def sent_two_examples(self, path: str) -> dict[str, str]:
        """The query of the one request sent, after checking that it was a POST to ``path``
        whose JSON body names ``two_examples()`` as dataset examples (not their pixels)."""
        (request,) = self.seen
        assert (request.method, request.url.path) == ("POST", path)
        examples = [{"dataset": "mnist-test", "index": index} for index in (1, 2)]
        assert json.loads(request.read()) == {"examples": examples}
        return dict(request.url.params)

    def answer_the_cli(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """`layerlens` with its client answered by this service."""
        monkeypatch.setattr(_common.State, "client", lambda _state: self.client())

    def assert_sent_in_runs_of_one_kind(self) -> None:
        """``mixed_inputs`` went as files, examples, numbers and examples, in their order."""
        kinds = [
            (r.method, r.headers.get("content-type", "").split(";")[0], self.inputs(r))
            if r.method == "POST" else (r.method, r.url.path, 0)
            for r in self.seen
        ]  # fmt: skip
        assert kinds == [
            ("POST", "multipart/form-data", 2),
            ("POST", "application/json", 1),
            ("GET", "/v1/models/digits", 0),  # the input shape, to split the numbers
            ("POST", "application/json", 3),
            ("POST", "application/json", 1),
        ]
        assert json.loads(self.seen[3].read())["instances"] == np.zeros((3, *SHAPE)).tolist()


def client_answering(body: dict[str, Any]) -> Client:
    """A client every request of which is answered 200 with ``body`` (e.g. one missing a
    field)."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    return Client("http://layerlens.test", transport=transport)


def mixed_inputs() -> list[Any]:
    """Seven inputs of every kind, in an order that needs four runs of one kind each."""
    return [
        png_bytes(), Image.open(io.BytesIO(png_bytes(90))), "mnist-test:3",
        np.zeros((2, *SHAPE)), np.zeros(784).tolist(), "mnist-test:4",
    ]  # fmt: skip
