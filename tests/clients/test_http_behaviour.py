"""Retries, timeouts and error mapping, which a healthy server cannot provoke on demand:
driven through httpx.MockTransport (the SDK's injectable transport)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from clients import (
    APIError,
    AsyncClient,
    BadRequestError,
    Client,
    ConnectionFailed,
    HeadersTooLargeError,
    NotFoundError,
    RequestTimeoutError,
    ResponseError,
    ServerError,
    ServiceUnavailableError,
    UnprocessableContentError,
)

MODELS = {"models": [{"name": "digits", "versions": [1], "default_version": 1}]}


class Script:
    """Answers requests from a list, one entry per attempt, and records what came in."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client_for(script: Script, retries: int = 3) -> Client:
    return Client("http://layerlens.test", transport=httpx.MockTransport(script), backoff_s=0.0,
                  retries=retries)  # fmt: skip


def test_503_is_retried_until_success() -> None:
    script = Script(httpx.Response(503, json={"error": "busy"}), httpx.Response(200, json=MODELS))
    with client_for(script) as client:
        assert [m.name for m in client.models()] == ["digits"]
    assert len(script.seen) == 2


def test_connection_errors_are_retried_then_reported_with_the_url() -> None:
    script = Script(*[httpx.ConnectError("refused")] * 3)
    with client_for(script, retries=2) as client, pytest.raises(ConnectionFailed) as info:
        client.models()
    assert len(script.seen) == 3
    assert "http://layerlens.test/v1/models" in str(info.value)


def test_400_is_not_retried_and_carries_the_server_message() -> None:
    body = {"error": "instance 0 has 3 values, expected 784", "code": "invalid_input"}
    script = Script(httpx.Response(400, json=body))
    with client_for(script) as client, pytest.raises(BadRequestError) as info:
        client.head("digits", [[1.0, 2.0, 3.0]])
    assert len(script.seen) == 1
    assert info.value.status_code == 400
    assert info.value.code == "invalid_input"
    assert info.value.message == body["error"]


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (408, "body_timeout", RequestTimeoutError),
        (422, "unusable_image", UnprocessableContentError),
        (431, "headers_too_large", HeadersTooLargeError),
    ],
)
def test_the_hostile_client_statuses_have_their_own_errors(
    status: int, code: str, error: type[APIError]
) -> None:
    """The answers of the service's bounds (docs/security.md), as the service words them."""
    body = {"error": f"what the server said about {code}", "code": code}
    script = Script(httpx.Response(status, json=body))
    with client_for(script) as client, pytest.raises(error) as info:
        client.head("digits", [[1.0, 2.0, 3.0]])
    assert len(script.seen) == 1  # none is retried: sending the same again fails the same
    assert (info.value.status_code, info.value.code) == (status, code)
    assert info.value.message == body["error"]


def test_503_after_all_retries_raises_service_unavailable() -> None:
    script = Script(*[httpx.Response(503, json={"error": "queue full", "code": "overloaded"})] * 2)
    with client_for(script, retries=1) as client, pytest.raises(ServiceUnavailableError) as info:
        client.models()
    assert info.value.code == "overloaded"


def test_read_timeout_is_not_retried() -> None:
    script = Script(httpx.ReadTimeout("slow"), httpx.Response(200, json=MODELS))
    with client_for(script) as client, pytest.raises(ConnectionFailed, match="in time"):
        client.models()
    assert len(script.seen) == 1


def test_an_unexpected_server_error_is_a_server_error_with_its_code_and_not_retried() -> None:
    """The service's answer to an exception it did not expect (``service/handlers.py``)."""
    body = {"error": "internal error", "code": "internal"}
    script = Script(httpx.Response(500, json=body), httpx.Response(200, json=MODELS))
    with client_for(script) as client, pytest.raises(ServerError) as info:
        client.models()
    assert len(script.seen) == 1
    assert (info.value.status_code, info.value.code, info.value.message) == (
        500,
        "internal",
        "internal error",
    )


def test_an_error_page_from_a_proxy_in_front_keeps_its_status_and_text() -> None:
    script = Script(*[httpx.Response(502, text="<html>bad gateway</html>")] * 4)
    with client_for(script) as client, pytest.raises(ServerError) as info:
        client.models()
    assert len(script.seen) == 4  # a proxy's 502 is retried like a 503, then reported
    assert info.value.status_code == 502 and info.value.code is None
    assert info.value.message == "Bad Gateway: <html>bad gateway</html>"


def test_a_success_that_is_not_json_is_a_response_error() -> None:
    script = Script(httpx.Response(200, text="<html>proxy</html>"))
    with client_for(script) as client, pytest.raises(ResponseError, match="not JSON"):
        client.models()


def test_health_checks_answer_false_on_503_without_retrying() -> None:
    script = Script(httpx.Response(503), httpx.Response(200))
    with client_for(script) as client:
        assert client.ready() is False
        assert client.live() is True
    assert len(script.seen) == 2


def test_async_client_retries_and_raises_the_same_way() -> None:
    async def scenario() -> None:
        answers = [httpx.Response(503), httpx.Response(404, json={"error": "no model 'x'"})]
        transport = httpx.MockTransport(lambda request: answers.pop(0))
        async with AsyncClient("http://layerlens.test", transport=transport, backoff_s=0) as c:
            with pytest.raises(NotFoundError, match="no model 'x'"):
                await c.metadata("x")

    asyncio.run(scenario())


def test_base_url_comes_from_the_argument_then_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("LAYERLENS_URL", "http://from-env:9000/")
    assert Client().base_url == "http://from-env:9000"
    assert Client("http://given:1").base_url == "http://given:1"


def test_a_success_missing_a_field_is_a_response_error_naming_it() -> None:
    prediction = {"class_id": 1, "label": "1", "probabilities": [0.2, 0.8], "top_k": []}
    body = {"model": "xor", "version": 1, "predictions": [prediction]}
    script = Script(httpx.Response(200, json=body))
    with client_for(script) as client, pytest.raises(ResponseError, match="'probability'"):
        client.head("xor", [[0.0] * 6])


def test_a_proxy_502_504_and_a_reset_connection_are_retried() -> None:
    """What a replica killed behind a load balancer looks like to a client."""
    script = Script(
        httpx.Response(502, text="bad gateway"),
        httpx.Response(504, text="gateway timeout"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("Connection reset by peer"),
        httpx.Response(200, json=MODELS),
    )
    with client_for(script, retries=4) as client:
        assert [m.name for m in client.models()] == ["digits"]
    assert len(script.seen) == 5


def test_the_retry_budget_keeps_retries_from_multiplying_an_overload() -> None:
    """Every answer 503: without a budget 30 calls with 3 retries each send 120 requests;
    with it, retries add the reserve (10) plus a tenth of the calls, at most."""
    script = Script(*[httpx.Response(503, json={"error": "overloaded"})] * 200)
    with client_for(script, retries=3) as client:
        for _ in range(30):
            with pytest.raises(ServiceUnavailableError):
                client.models()
    assert 30 + 10 <= len(script.seen) <= 30 + 10 + 3, len(script.seen)


def test_a_refusal_carries_the_servers_retry_after() -> None:
    body = {"error": "the server is overloaded", "code": "overloaded"}
    script = Script(httpx.Response(503, json=body, headers={"Retry-After": "3"}))
    with client_for(script, retries=0) as client, pytest.raises(ServiceUnavailableError) as info:
        client.models()
    assert info.value.retry_after_s == 3.0
    script = Script(httpx.Response(503, json=body))
    with client_for(script, retries=0) as client, pytest.raises(ServiceUnavailableError) as info:
        client.models()
    assert info.value.retry_after_s is None
