"""The course document as the arbiter under concurrent enrolments, and events delivered twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import Applicant, BillCancelled, BillExpired, BillPaid, CloudEvent, new_event
from services.courses.consumers import QUEUE
from tests.integration.courses.conftest import Platform
from tests.integration.helpers import dead_letters

pytestmark = pytest.mark.integration


async def test_the_last_of_n_concurrent_enrolments_reaches_the_minimum_and_all_n_are_decided_once(
    platform: Platform,
) -> None:
    n = 6
    code = await platform.open_course(minimum=n, capacity=n + 4)
    applicants = [platform.applicant() for _ in range(n)]

    responses = await asyncio.gather(
        *(platform.enrol(code, subject, applicant) for subject, applicant in applicants)
    )

    assert [r.status_code for r in responses] == [201] * n, [r.text for r in responses]
    numbers = [r.json()["number"] for r in responses]
    for number in numbers:
        await platform.sms(number, "courses.request.approved.v1")  # exactly one, asserted
        await platform.status_becomes(number, "approved")
    await asyncio.sleep(1.0)  # a second decision, if any, would have arrived by now
    for number in numbers:
        request = await platform.request(number)
        assert [e["action"] for e in request["timeline"]] == ["submit", "approve"]
        assert await platform.templates(number) == ["courses.request.approved.v1"]
    course = await platform.course(code)
    assert course["seats_taken"] == n and course["is_minimum_reached"]


async def test_capacity_is_never_exceeded_under_concurrent_enrolment(platform: Platform) -> None:
    code = await platform.open_course(minimum=1, capacity=3)
    applicants = [platform.applicant() for _ in range(10)]

    responses = await asyncio.gather(
        *(platform.enrol(code, subject, applicant) for subject, applicant in applicants)
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 3 + [409] * 7, [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 409).json()
    assert refused["type"].endswith("/conflict") and refused["detail_ar"]
    assert (await platform.course(code))["seats_taken"] == 3


async def test_a_bill_paid_event_delivered_twice_confirms_the_booking_once(
    platform: Platform,
) -> None:
    fee = 15_000
    code = await platform.open_course(minimum=1, fee_fils=fee)
    number, subject, applicant = await platform.enrolled(code)
    bill = await platform.bill(number, subject)
    await platform.pay(bill["e_payment_number"], fee)
    await platform.sms(number, "courses.request.paid.v1")
    paid = BillPaid(
        payment_reference=f"courses:{number}:fee",
        request_number=number,
        e_payment_number=bill["e_payment_number"],
        amount_fils=fee,
        paid_at=datetime.now(UTC),
        applicant=Applicant(**applicant),
    )
    event = new_event(
        "payments.bill.paid.v1",
        paid,
        source_service="payments",
        subject=number,
        time=datetime.now(UTC),
    )
    other_id = event.model_copy(update={"id": uuid.uuid4().hex})

    # The same event again (the inbox skips it), and the same fact under a new id (the
    # request's state does).
    for duplicate in (event, event, other_id):
        await platform.publish(duplicate)
    await asyncio.sleep(1.5)

    request = await platform.request(number)
    assert [e["action"] for e in request["timeline"]] == ["submit", "request_payment", "pay"]
    assert await platform.templates(number) == [
        "courses.request.paid.v1",
        "payments.bill.issued.v1",
    ]


async def test_a_second_request_of_the_same_citizen_for_a_course_is_a_conflict(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=3)
    subject, applicant = platform.applicant()
    assert (await platform.enrol(code, subject, applicant)).status_code == 201

    again = await platform.enrol(code, subject, applicant)

    assert again.status_code == 409, again.text


async def test_the_same_idempotency_key_returns_the_first_request(platform: Platform) -> None:
    code = await platform.open_course(minimum=3)
    subject, applicant = platform.applicant()
    key = uuid.uuid4().hex

    first = await platform.enrol(code, subject, applicant, key=key)
    second = await platform.enrol(code, subject, applicant, key=key)

    assert first.status_code == second.status_code == 201
    assert first.json()["number"] == second.json()["number"]
    assert second.headers.get("Idempotent-Replayed") == "true"


@pytest.mark.parametrize("outcome", ["expired", "cancelled"])
async def test_a_bill_that_can_no_longer_be_paid_delivered_twice_cancels_the_request_once(
    platform: Platform, outcome: str
) -> None:
    fee = 12_000
    code = await platform.open_course(minimum=1, fee_fils=fee)
    number, subject, applicant = await platform.enrolled(code)
    bill = await platform.bill(number, subject)
    model = BillExpired if outcome == "expired" else BillCancelled
    ended = new_event(
        f"payments.bill.{outcome}.v1",
        model(
            payment_reference=f"courses:{number}:fee",
            request_number=number,
            e_payment_number=bill["e_payment_number"],
            at=datetime.now(UTC),
            applicant=Applicant(**applicant),
        ),
        source_service="payments",
        subject=number,
        time=datetime.now(UTC),
    )

    for duplicate in (ended, ended, ended.model_copy(update={"id": uuid.uuid4().hex})):
        await platform.publish(duplicate)

    text = await platform.sms(number, "courses.request.cancelled.v1")
    assert number in text
    await asyncio.sleep(1.0)
    request = await platform.request(number)
    assert [e["action"] for e in request["timeline"]] == [
        "submit",
        "request_payment",
        "cancel_unpaid",
    ]
    assert (await platform.course(code))["seats_taken"] == 0


def bill_paid(reference: str, number: str, amount_fils: int = 10_000) -> CloudEvent:
    paid = BillPaid(
        payment_reference=reference,
        request_number=number,
        e_payment_number="2026000000017",
        amount_fils=amount_fils,
        paid_at=datetime.now(UTC),
        applicant=Applicant(name="ليلى أحمد", phone="+962791234567", national_id="9901234567"),
    )
    return new_event(
        "payments.bill.paid.v1",
        paid,
        source_service="payments",
        subject=number,
        time=datetime.now(UTC),
    )


async def test_a_bill_of_another_service_is_acknowledged_and_one_naming_no_request_is_dead_lettered(
    platform: Platform,
) -> None:
    queue = platform.courses.queue(QUEUE)
    foreign = bill_paid("licensing:LR-2026-000001:fee", "LR-2026-000001")
    missing = bill_paid("courses:CR-2026-999999:fee", "CR-2026-999999")

    await platform.publish(foreign)
    await platform.publish(missing)

    dead: list[Any] = []

    async def missing_is_dead() -> bool:
        assert platform.connection is not None
        dead.extend(await dead_letters(platform.connection, queue))
        return any(json.loads(message.body)["id"] == missing.id for message in dead)

    await platform.eventually(missing_is_dead, message="the bill naming no request dead-lettered")
    await asyncio.sleep(1.0)  # the other bill, were it refused, would be dead by now
    assert platform.connection is not None
    dead.extend(await dead_letters(platform.connection, queue))
    assert [json.loads(message.body)["id"] for message in dead] == [missing.id]
    reason = str(dead[0].headers["x-dead-letter-reason"])
    assert "courses:CR-2026-999999:fee names no request" in reason


async def test_a_fee_paid_after_the_request_was_cancelled_is_refunded_once(
    platform: Platform,
) -> None:
    fee = 9_000
    code = await platform.open_course(minimum=1, fee_fils=fee)
    number, subject, applicant = await platform.enrolled(code)
    bill = await platform.bill(number, subject)
    # The bill's withdrawal crosses the citizen's payment: the request is cancelled while the
    # provider still takes the money.
    withdrawn = new_event(
        "payments.bill.cancelled.v1",
        BillCancelled(
            payment_reference=f"courses:{number}:fee",
            request_number=number,
            e_payment_number=bill["e_payment_number"],
            at=datetime.now(UTC),
            applicant=Applicant(**applicant),
        ),
        source_service="payments",
        subject=number,
        time=datetime.now(UTC),
    )
    await platform.publish(withdrawn)
    await platform.status_becomes(number, "cancelled")

    await platform.pay(bill["e_payment_number"], fee)

    async def refunds() -> list[dict[str, Any]]:
        return [r for b in await platform.bills(number, subject) for r in b["refunds"]]

    (refund,) = await platform.eventually(refunds, message="the late payment refunded")
    assert refund["refund_reference"] == f"courses:{number}:late_payment_refund"
    assert refund["amount_fils"] == fee
    # The payment again, under a new id: nothing more to refund.
    await platform.publish(bill_paid(f"courses:{number}:fee", number, fee))
    await asyncio.sleep(1.5)
    assert len(await refunds()) == 1
    request = await platform.request(number)
    assert [e["action"] for e in request["timeline"]] == [
        "submit",
        "request_payment",
        "cancel_unpaid",
    ]
