"""``Client`` and ``AsyncClient`` offer the same methods: same names, parameters (kinds,
defaults, annotations), return types and docstrings; one blocks, the other is awaited."""

from __future__ import annotations

import inspect
from typing import Any, get_type_hints

import pytest

import clients
from clients import AsyncClient, Client

#: The public contract: every method and what it returns (awaited, for AsyncClient).
RETURNS: dict[str, Any] = {
    "models": list[clients.ModelSummary],
    "training": list[str],
    "metadata": clients.ModelMetadata,
    "predict": clients.PredictResult,
    "embed": clients.Embeddings,
    "head": clients.PredictResult,
    "interpolate": clients.Interpolation,
    "explain": clients.ExplainResult,
    "neighbors": clients.NeighborsResult,
    "embedding_map": clients.EmbeddingMap,
    "projection": clients.Projection,
    "project": clients.Projected,
    "metrics": clients.Metrics,
    "cell_examples": clients.CellExamples,
    "weights": clients.Weights,
    "dataset_example": clients.DatasetExample,
    "dataset_examples": clients.DatasetExamples,
    "reload": dict[str, Any],
    "prometheus_metrics": str,
    "server_metadata": dict[str, Any],
    "live": bool,
    "ready": bool,
    "model_metadata": dict[str, Any],
    "model_ready": bool,
    "infer": clients.InferResult,
}
#: Parameters with a default that may be given by position; every other option is keyword-only.
POSITIONAL_OPTIONS = {("reload", "api_key")}
CLOSERS = {Client: "close", AsyncClient: "aclose"}


def public_methods(cls: type) -> set[str]:
    names = {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))}
    return names - {CLOSERS[cls]}


def described(method: Any) -> list[tuple[str, Any, Any, Any]]:
    """(name, kind, default, annotation) per parameter, annotations resolved to types."""
    hints = get_type_hints(method)
    return [
        (p.name, p.kind, p.default, hints.get(p.name, p.annotation))
        for p in inspect.signature(method).parameters.values()
    ]


def test_both_clients_have_exactly_the_public_methods() -> None:
    assert public_methods(Client) == set(RETURNS)
    assert public_methods(AsyncClient) == set(RETURNS)


@pytest.mark.parametrize("name", sorted(RETURNS))
def test_the_methods_agree_in_signature_and_docstring(name: str) -> None:
    blocking, awaited = getattr(Client, name), getattr(AsyncClient, name)
    assert described(blocking) == described(awaited)
    assert get_type_hints(blocking)["return"] == RETURNS[name]
    assert get_type_hints(awaited)["return"] == RETURNS[name]
    assert inspect.getdoc(blocking) == inspect.getdoc(awaited)
    assert not inspect.iscoroutinefunction(blocking)
    assert inspect.iscoroutinefunction(awaited)


@pytest.mark.parametrize("name", sorted(RETURNS))
def test_options_are_keyword_only(name: str) -> None:
    parameters = list(inspect.signature(getattr(Client, name)).parameters.values())
    assert parameters[0].name == "self"
    for p in parameters[1:]:
        if p.default is inspect.Parameter.empty:
            assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, p.name
        elif (name, p.name) not in POSITIONAL_OPTIONS:
            assert p.kind is inspect.Parameter.KEYWORD_ONLY, p.name


def test_the_constructors_take_the_same_options() -> None:
    """The transport differs by kind (an httpx sync or async transport); the rest is equal."""

    def shared(cls: type) -> list[tuple[str, Any, Any, Any]]:
        return [p for p in described(cls.__init__) if p[0] != "transport"]

    assert shared(Client) == shared(AsyncClient)
    options = inspect.signature(Client).parameters
    assert [n for n, p in options.items() if p.kind is p.KEYWORD_ONLY] == [
        "timeout", "retries", "backoff_s", "headers", "transport",
    ]  # fmt: skip


def test_a_subclass_keeps_its_overrides_and_the_inherited_methods() -> None:
    class Logged(Client):
        def predict(self, *args: Any, **kwargs: Any) -> Any:
            return ("logged", args, kwargs)

    assert Logged("http://layerlens.test").predict("digits", 1) == ("logged", ("digits", 1), {})
    assert Logged.embed is Client.embed
