"""The HTTP gateway's reading of a provider's answers, and the rate limit (in process: a fake of
the provider's HTTP API through httpx's mock transport)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from services.notifier.domain import Accepted, PermanentFailure, TemporaryFailure
from services.notifier.gateways import (
    HttpGateway,
    LogGateway,
    OutgoingSms,
    RateLimiter,
    ReservedNumbers,
)

SMS = OutgoingSms("m-1", "+962791234567", "نص", "UCS-2", 1)


def gateway(handler: object) -> HttpGateway:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    return HttpGateway(
        "https://sms.example/send",
        "token",
        sender="AmmanCity",
        timeout_seconds=0.2,
        client=httpx.AsyncClient(transport=transport),
    )


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Accepted),
        (202, Accepted),
        (400, PermanentFailure),
        (401, PermanentFailure),
        (404, PermanentFailure),
        (408, TemporaryFailure),
        (429, TemporaryFailure),
        (500, TemporaryFailure),
        (503, TemporaryFailure),
    ],
)
async def test_each_answer_is_read_as_the_issue_says(status: int, outcome: type) -> None:
    result = await gateway(lambda request: httpx.Response(status, json={"id": "p-9"})).send(SMS)

    assert isinstance(result, outcome)


async def test_the_request_carries_the_message_and_the_token() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": 77})

    result = await gateway(answer).send(SMS)

    assert result == Accepted(provider_id="77")
    body = json.loads(seen[0].content)
    assert body == {
        "to": "+962791234567",
        "text": "نص",
        "sender": "AmmanCity",
        "reference": "m-1",
        "encoding": "UCS-2",
    }
    assert seen[0].headers["authorization"] == "Bearer token"


async def test_no_answer_in_time_and_no_connection_are_temporary() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    assert await gateway(timeout).send(SMS) == TemporaryFailure(
        "the provider did not answer within 0.2 s"
    )
    assert await gateway(refused).send(SMS) == TemporaryFailure(
        "cannot reach the provider: ConnectError"
    )


async def test_the_reason_keeps_an_error_code_but_never_the_providers_free_text() -> None:
    coded = await gateway(lambda r: httpx.Response(400, json={"error": "bad_number"})).send(SMS)
    echoed = await gateway(lambda r: httpx.Response(400, json={"error": "نص الرسالة هنا"})).send(
        SMS
    )

    assert coded == PermanentFailure("the provider answered HTTP 400 (bad_number)")
    assert echoed == PermanentFailure("the provider answered HTTP 400")


async def test_the_log_gateway_answers_each_reserved_number_its_own_way() -> None:
    numbers = ReservedNumbers("+962790000002", "+962790000003", "+962790000004")
    log = LogGateway(numbers)

    def to(phone: str) -> OutgoingSms:
        return OutgoingSms("m", phone, "text", "GSM-7", 1)

    assert isinstance(await log.send(to("+962790000002")), PermanentFailure)
    assert isinstance(await log.send(to("+962790000003")), TemporaryFailure)
    assert await log.send(to("+962790000004")) == Accepted("log-m", is_delivered=False)
    assert await log.send(to("+962791234567")) == Accepted("log-m", is_delivered=True)


async def test_the_rate_limit_spaces_sends_evenly() -> None:
    limiter = RateLimiter(per_second=50)
    started = time.monotonic()

    await asyncio.gather(*(limiter.acquire() for _ in range(11)))

    assert time.monotonic() - started >= 0.19  # ten intervals of 20 ms
