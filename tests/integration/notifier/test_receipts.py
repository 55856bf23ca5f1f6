"""Delivery receipts from the provider: signed with HMAC, applied once, failures published."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import eventually
from tests.integration.notifier.conftest import (
    Reader,
    bill_issued,
    post_receipt,
    publish,
    random_phone,
)

pytestmark = pytest.mark.integration


async def _sent(staff: Reader, amqp: Any) -> dict[str, Any]:
    event = bill_issued(random_phone())
    await publish(amqp, event)
    [message] = await staff.settled(event.subject, "sent")
    return message


async def test_a_receipt_with_a_bad_signature_is_refused_with_401(
    notifier: Any, staff: Reader, amqp: Any
) -> None:
    message = await _sent(staff, amqp)
    body = {"reference": message["id"], "status": "delivered"}

    wrong_secret = await post_receipt(notifier.url, body, secret="not-the-secret")
    no_signature = await post_receipt(notifier.url, body, signature="")
    garbage = await post_receipt(notifier.url, body, signature="sha256=00")

    for response in (wrong_secret, no_signature, garbage):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "https://api.amman.jo/problems/unauthorized"
    [again] = await staff.messages(request_number=message["request_number"])
    assert again["status"] == "sent"


async def test_a_signed_delivered_receipt_confirms_the_message_once(
    notifier: Any, staff: Reader, amqp: Any
) -> None:
    message = await _sent(staff, amqp)
    body = {"reference": message["id"], "status": "delivered", "provider_id": "p-1"}

    first = await post_receipt(notifier.url, body)
    repeated = await post_receipt(notifier.url, body)

    assert first.status_code == repeated.status_code == 200
    assert first.json() == {"message_id": message["id"], "status": "delivered"}
    assert repeated.json()["status"] == "delivered"
    history = await staff.history(message["id"])
    assert history == ["queued", "sending", "sent", "delivered"]
    [delivered] = await staff.messages(request_number=message["request_number"])
    assert delivered["delivered_at"] is not None


async def test_a_permanent_failure_receipt_fails_the_message_and_publishes_it(
    notifier: Any, staff: Reader, amqp: Any, failures: list[Any]
) -> None:
    message = await _sent(staff, amqp)
    body = {"reference": message["id"], "status": "permanent-failure", "reason": "absent"}

    response = await post_receipt(notifier.url, body)

    assert response.json()["status"] == "permanent-failure"

    async def published() -> Any:
        return [failure for failure in failures if failure.message_id == message["id"]]

    [failure] = await eventually(published, message="sms.failed published")
    assert (failure.status, failure.reason) == ("permanent-failure", "absent")


async def test_a_temporary_failure_receipt_sends_the_message_again(
    notifier: Any, staff: Reader, amqp: Any, provider: Any
) -> None:
    message = await _sent(staff, amqp)

    await post_receipt(notifier.url, {"reference": message["id"], "status": "temporary-failure"})

    [again] = await staff.settled(message["request_number"], "sent")
    assert again["attempts"] == 2
    assert len(provider.to(message["phone"])) == 2


async def test_a_receipt_for_an_unknown_message_is_404_and_a_bad_one_422(notifier: Any) -> None:
    unknown = await post_receipt(notifier.url, {"reference": "nope", "status": "delivered"})
    malformed = await post_receipt(notifier.url, {"reference": "x", "status": "lost"})

    assert unknown.status_code == 404
    assert unknown.json()["type"] == "https://api.amman.jo/problems/not-found"
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "status"
