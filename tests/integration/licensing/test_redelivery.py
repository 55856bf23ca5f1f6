"""At-least-once delivery, exactly-once effect: every event licensing consumes (a bill paid,
expired or cancelled), delivered again (the same message) or published again (a new id, the same
data), changes nothing: no state, no version, no SMS, no event. What else comes in normal running
(another service's bill, an old bill) is a no-op too; only a bill that should not have come is
dead-lettered."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest

from contracts import CloudEvent, new_event
from contracts.payments import BillExpired, BillPaid
from tests.integration.helpers import dead_letters
from tests.integration.licensing.conftest import Platform

pytestmark = pytest.mark.integration

QUEUE = "licensing.bills"


async def approved(platform: Platform) -> tuple[str, str, dict[str, object]]:
    number, subject = await platform.submitted()
    await platform.to_committee(number)
    assert (await platform.decide(number, "approved")).status_code == 200
    return number, subject, await platform.bill(number, subject)


async def test_every_consumed_event_delivered_twice_changes_nothing(platform: Platform) -> None:
    paid, paid_subject, paid_bill = await approved(platform)
    withdrawn, withdrawn_subject, _ = await approved(platform)
    expired, _, expired_bill = await approved(platform)
    await platform.pay(str(paid_bill["e_payment_number"]), int(str(paid_bill["amount_fils"])))
    await platform.status_becomes(paid, "licensed")
    assert (await platform.act(withdrawn, withdrawn_subject, "withdraw")).status_code == 200
    # The withdrawn bill is cancelled before the clock moves past its due time.
    cancelled = await platform.published.one("payments.bill.cancelled.v1", withdrawn)
    await platform.move_clock(
        datetime.fromisoformat(str(expired_bill["due_at"])) + timedelta(minutes=5)
    )
    await platform.status_becomes(expired, "payment_expired", timeout=30)
    outcomes = [
        await platform.published.one("payments.bill.paid.v1", paid),
        cancelled,
        await platform.published.one("payments.bill.expired.v1", expired),
    ]
    await platform.sms(paid, "licensing.licence.issued.v1")
    await platform.sms(withdrawn, "licensing.request.withdrawn.v1")
    await platform.sms(expired, "licensing.request.payment_expired.v1")
    numbers = (paid, withdrawn, expired)
    before = {number: await platform.request(number) for number in numbers}
    sms_before = {number: await platform.templates(number) for number in numbers}
    events_before = {number: platform.published.count("licensing.", number) for number in numbers}
    consumed = await platform.metric("events_consumed_total") + await platform.metric(
        "events_duplicate_total"
    )

    for body in outcomes:
        await platform.deliver_again(body)
        await platform.deliver_again(body, new_id=True)
    await platform.consumed("licensing.bills", int(consumed) + 6)

    await asyncio.sleep(1.5)  # what a second effect would have published and sent by now
    for number in numbers:
        again = await platform.request(number)
        assert (again["status"], again["version"]) == (
            before[number]["status"],
            before[number]["version"],
        )
        assert again["timeline"] == before[number]["timeline"]
        assert await platform.templates(number) == sms_before[number]
        assert platform.published.count("licensing.", number) == events_before[number]
    licence = (await platform.request(paid, platform.token(paid_subject)))["licence"]
    assert licence == before[paid]["licence"]


def bill_event(key: str, data: Any, number: str) -> CloudEvent:
    return new_event(key, data, source_service="payments", subject=number, time=datetime.now(UTC))


async def test_what_comes_in_normal_running_is_a_no_op_and_a_stray_bill_a_dead_letter(
    platform: Platform,
) -> None:
    """Another service's bill (every service's bills reach the queue) and an old bill of a
    request are acknowledged and change nothing; a bill of this service naming no request of it
    should not have come: it is dead-lettered with the reason, the consumer goes on."""
    number, _, bill = await approved(platform)

    async def bill_recorded() -> dict[str, Any] | None:
        found = await platform.request(number)
        return found if found["e_payment_number"] else None

    before = await platform.eventually(bill_recorded, message="payments.bill.issued applied")
    applicant = before["applicant"]
    e_payment_number = str(bill["e_payment_number"])
    paid = {"e_payment_number": e_payment_number, "amount_fils": 33_000, "applicant": applicant}
    others = bill_event(
        "payments.bill.paid.v1",
        BillPaid(payment_reference="exams:EX-2026-000001:fee", request_number="EX-2026-000001",
                 paid_at=datetime.now(UTC), **paid),
        "EX-2026-000001",
    )  # fmt: skip
    old = bill_event(
        "payments.bill.expired.v1",
        BillExpired(payment_reference=f"licensing:{number}:fee-7", request_number=number,
                    e_payment_number=e_payment_number, at=datetime.now(UTC), applicant=applicant),
        number,
    )  # fmt: skip
    stray = bill_event(
        "payments.bill.paid.v1",
        BillPaid(payment_reference="licensing:LC-2020-999999:fee", request_number="LC-2020-999999",
                 paid_at=datetime.now(UTC), **paid),
        "LC-2020-999999",
    )  # fmt: skip
    queue = platform.service.queue(QUEUE)
    consumed = await platform.metric("events_consumed_total", queue=queue)
    rejected = await platform.metric("events_dead_lettered_total", queue=queue, cause="rejected")

    for event in (others, old, stray):
        await platform.publish(event)

    async def taken() -> bool:
        applied = await platform.metric("events_consumed_total", queue=queue)
        dead = await platform.metric("events_dead_lettered_total", queue=queue, cause="rejected")
        return applied >= consumed + 2 and dead >= rejected + 1

    await platform.eventually(taken, message="two no-ops applied, one dead letter")
    after = await platform.request(number)
    assert (after["status"], after["version"], after["timeline"]) == (
        before["status"],
        before["version"],
        before["timeline"],
    )
    assert connection_of(platform) is not None
    dead = [
        message
        for message in await dead_letters(connection_of(platform), queue)
        if message.message_id == stray.id
    ]
    assert len(dead) == 1
    reason = str((dead[0].headers or {}).get("x-dead-letter-reason"))
    assert reason == "rejected: No such request.", reason
    # The consumer went on: the request's own bill is still paid and licensed.
    await platform.pay(e_payment_number, int(str(bill["amount_fils"])))
    await platform.status_becomes(number, "licensed")


def connection_of(platform: Platform) -> aio_pika.abc.AbstractRobustConnection:
    assert platform.connection is not None
    return platform.connection
