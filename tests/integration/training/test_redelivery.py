"""At-least-once delivery, exactly-once effect: every event training consumes (bill paid, bill
expired, bill cancelled, refund approved), delivered again (the same message) or published again
(a new id, the same data), changes nothing: no state, no version, no SMS. A payment arriving after
the request was cancelled is refunded in full, without approval, once. A bill that should not have
come (ours by its reference, but naming no request) goes to the dead-letter queue with the
reason."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from contracts import Applicant, CloudEvent, new_event
from contracts.payments import BillCancelled, BillExpired, BillPaid, RefundApproved
from tests.integration.conftest import eventually
from tests.integration.helpers import dead_letters, metric
from tests.integration.training.conftest import Platform

pytestmark = pytest.mark.integration

QUEUE = "training.payments"


async def _taken(platform: Platform) -> float:
    name = platform.training.queue(QUEUE)
    applied = await metric(platform.training.url, "events_consumed_total", queue=name)
    skipped = await metric(platform.training.url, "events_duplicate_total", queue=name)
    return applied + skipped


async def _deliver_twice(platform: Platform, event: CloudEvent) -> None:
    """The same message again, then the same data under a new id; wait until both are taken."""
    before = await _taken(platform)
    await platform.publish(event)
    await platform.publish(event.model_copy(update={"id": uuid.uuid4().hex}))

    async def taken() -> bool:
        return await _taken(platform) >= before + 2

    await eventually(taken, message="both copies consumed")


def _event(key: str, data: Any, number: str) -> CloudEvent:
    return new_event(key, data, source_service="payments", subject=number, time=_now())


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _snapshot(request: dict[str, Any]) -> tuple[Any, ...]:
    return (request["status"], request["timeline"], request["refund_status"])


async def test_every_payments_event_delivered_twice_changes_nothing(platform: Platform) -> None:
    number, subject, found = await platform.paid_gis_request()
    bill = await platform.bill(number, subject)
    applicant = found["applicant"]
    reference = f"training:{number}:fee"
    paid = BillPaid(
        payment_reference=reference,
        request_number=number,
        e_payment_number=bill["e_payment_number"],
        amount_fils=bill["amount_fils"],
        paid_at=_now(),
        applicant=applicant,
    )
    expired = BillExpired(
        payment_reference=reference,
        request_number=number,
        e_payment_number=bill["e_payment_number"],
        at=_now(),
        applicant=applicant,
    )
    await platform.sms(number, "training.request.approved.v1")
    before = await platform.request(number)

    await _deliver_twice(platform, _event("payments.bill.paid.v1", paid, number))
    await _deliver_twice(platform, _event("payments.bill.expired.v1", expired, number))

    after = await platform.request(number)
    assert _snapshot(after) == _snapshot(before)
    await asyncio.sleep(0.5)
    assert await platform.templates(number) == [
        "payments.bill.issued.v1",
        "training.request.approved.v1",
        "training.request.submitted.v1",
    ]


async def test_an_expiry_twice_cancels_once_and_a_late_payment_is_refunded_once(
    platform: Platform,
) -> None:
    number, subject, _ = await platform.submitted(platform.gis_form("specialised"))
    await platform.approve(number)
    bill = await platform.bill(number, subject)
    found = await platform.request(number)
    reference = f"training:{number}:fee"
    ended = BillExpired(
        payment_reference=reference,
        request_number=number,
        e_payment_number=bill["e_payment_number"],
        at=_now(),
        applicant=found["applicant"],
    )
    withdrawn = BillCancelled(**ended.model_dump())

    await _deliver_twice(platform, _event("payments.bill.expired.v1", ended, number))
    await _deliver_twice(platform, _event("payments.bill.cancelled.v1", withdrawn, number))

    cancelled = await platform.status_becomes(number, "cancelled")
    assert [e["action"] for e in cancelled["timeline"]] == ["submit", "approve", "expire_payment"]
    await platform.sms(number, "training.request.cancelled.v1")  # exactly one

    # The bill was still open at payments: a payment crossing the cancellation comes back.
    await platform.pay(bill["e_payment_number"], bill["amount_fils"])
    refund = await platform.sms(number, "payments.refund.approved.v1")
    assert "100.000" in refund

    async def remembered() -> dict[str, Any] | None:
        again = await platform.request(number)
        return again if again["refund_status"] == "approved" else None

    before = await eventually(remembered, message="the late-payment refund is remembered")
    approved = RefundApproved(
        refund_reference=f"training:{number}:late_payment_refund",
        payment_reference=reference,
        request_number=number,
        amount_fils=bill["amount_fils"],
        decided_by_role="system",
        applicant=found["applicant"],
    )
    await _deliver_twice(platform, _event("payments.refund.approved.v1", approved, number))
    again = await platform.request(number)
    assert _snapshot(again) == _snapshot(before) and again["status"] == "cancelled"
    await asyncio.sleep(0.5)
    # (The notifier answers the copies of payments' refund event this test published itself:
    # that is the notifier's rule, one SMS per event id; training sent nothing more.)
    assert (await platform.templates(number)).count("training.request.cancelled.v1") == 1


async def test_a_bill_naming_no_request_of_ours_is_dead_lettered_with_the_reason(
    platform: Platform,
) -> None:
    nobody = f"TR-2026-{uuid.uuid4().int % 10**6:06d}"
    stray = BillPaid(
        payment_reference=f"training:{nobody}:fee",
        request_number=nobody,
        e_payment_number="2026000123457",
        amount_fils=200000,
        paid_at=_now(),
        applicant=Applicant(name="سامي خالد", phone="+962791234567", lang="ar"),
    )
    await platform.publish(_event("payments.bill.paid.v1", stray, nobody))
    connection = platform.connection
    assert connection is not None
    dead: list[Any] = []

    async def dead_lettered() -> bool:
        dead.extend(await dead_letters(connection, platform.training.queue(QUEUE)))
        return any(nobody in message.body.decode() for message in dead)

    await eventually(dead_lettered, message="the stray bill is dead-lettered")
    [reason] = [
        str(message.headers["x-dead-letter-reason"])
        for message in dead
        if nobody in message.body.decode()
    ]
    assert "No such request" in reason
