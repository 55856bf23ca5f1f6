"""What each consumed event meets in normal running is answered, not refused; an event the rules
refuse is dead-lettered at once with its reason (the platform's policy, `typed_handler`).

Exams runs alone on the test's own virtual host; the test publishes payments' events as payments
would (and one of exams' own, forged), and reads `<queue>.dlq` as an operator would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from contracts import Applicant, BillExpired, BillPaid, CloudEvent, new_event
from contracts.exams import ExamSessionScheduled
from tests.integration.exams.conftest import OFFICIAL, Published, StartPlatform, next_exam_time
from tests.integration.helpers import dead_letters

pytestmark = pytest.mark.integration

E_PAYMENT_NUMBER = "2026000123457"
PAYER = Applicant(name="ليلى أحمد الحداد", phone="+962791234567")


def bill_paid(platform: Any, reference: str, number: str, amount_fils: int) -> CloudEvent:
    data = BillPaid(
        payment_reference=reference,
        request_number=number,
        e_payment_number=E_PAYMENT_NUMBER,
        amount_fils=amount_fils,
        paid_at=platform.now(),
        applicant=PAYER,
        provider="efawateercom",
    )
    return new_event(
        "payments.bill.paid.v1",
        data,
        source_service="payments",
        subject=number,
        time=platform.now(),
    )


def bill_expired(platform: Any, reference: str, number: str) -> CloudEvent:
    data = BillExpired(
        payment_reference=reference,
        request_number=number,
        e_payment_number=E_PAYMENT_NUMBER,
        at=platform.now(),
        applicant=PAYER,
    )
    return new_event(
        "payments.bill.expired.v1",
        data,
        source_service="payments",
        subject=number,
        time=platform.now(),
    )


async def test_another_services_bill_is_ignored_and_a_late_payment_refunded_once(
    start_platform: StartPlatform, published: Published
) -> None:
    platform = await start_platform(payments=False, notifier=False)
    citizen = platform.citizen()
    request = await platform.submit(citizen)
    number = request["request_number"]
    withdrawn = await platform.call("POST", f"/v1/requests/{number}/withdrawal", citizen, {})
    assert withdrawn.status_code == 200, withdrawn.text

    # Every service's bills come to exams.payments: another's is consumed, and changes nothing.
    await platform.publish(bill_paid(platform, "courses:CR-2026-000001:fee", "CR-2026-000001", 1))
    await platform.publish(bill_expired(platform, "courses:CR-2026-000001:fee", "CR-2026-000001"))
    # The citizen paid while withdrawing: the payment arrives for a cancelled request (and is
    # published again under a new id).
    late = bill_paid(platform, request["fee"]["payment_reference"], number, 5_000)
    await platform.publish(late)
    await platform.deliver_again(late.to_json(), new_id=True)
    await platform.consumed("exams.payments", 4)

    after = await platform.inquiry(number)
    assert after["status"] == "cancelled"
    assert [line["action"] for line in after["timeline"]] == [
        "submit",
        "withdraw",
        "refund_late_payment",
    ]
    refund = json.loads(await published.one("exams.refund.requested.v1", number))["data"]
    assert refund["refund_reference"] == f"exams:{number}:late_payment_refund"
    assert (refund["amount_fils"], refund["needs_approval"]) == (5_000, False)
    await asyncio.sleep(0.5)  # a second refund, were there one, would be published by now
    assert len(published.of("exams.refund.requested.v1", number)) == 1
    assert not await dead_letters(platform.connection, platform.exams.queue("exams.payments"))


async def test_a_bill_naming_no_exam_request_is_dead_lettered_with_its_reason(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform(payments=False, notifier=False)
    queue = platform.exams.queue("exams.payments")

    await platform.publish(bill_paid(platform, "exams:EX-2026-999999:fee", "EX-2026-999999", 1))

    async def dead() -> list[Any]:
        return await dead_letters(platform.connection, queue)

    letters = await platform.eventually(dead, message="the bill dead-lettered")
    assert len(letters) == 1
    reason = (letters[0].headers or {}).get("x-dead-letter-reason")
    assert reason == "rejected: no exam request EX-2026-999999"


async def test_a_date_for_a_session_that_has_none_is_dead_lettered_naming_each_candidate(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform(payments=False, notifier=False)
    numbers = [
        (await platform.submit(platform.citizen(f"citizen-{n}"), exam_code=OFFICIAL))[
            "request_number"
        ]
        for n in (1, 2)
    ]
    for number in numbers:
        await platform.bill_paid(number, 25_000)

    async def seated() -> dict[str, Any] | None:
        request = await platform.inquiry(numbers[1])
        session = request["session"]
        return request if session and session["candidates"] == 2 else None

    request = await platform.eventually(seated)
    session_number = request["session"]["session_number"]

    # `exams.session.scheduled.v1` for a session no coordinator scheduled: it should not have
    # come, and no retry can tell the candidates a date the session does not have.
    forged = ExamSessionScheduled(
        session_number=session_number,
        exam=request["exam"],
        exam_at=next_exam_time(platform.now()),
        venue=request["centre"]["name"],
        candidates=numbers,
        scheduled_at=platform.now(),
        was_overdue=False,
    )
    await platform.publish(
        new_event(
            "exams.session.scheduled.v1",
            forged,
            source_service="exams",
            subject=session_number,
            time=platform.now(),
        )
    )

    async def dead() -> list[Any]:
        return await dead_letters(platform.connection, platform.exams.queue("exams.sessions"))

    (letter,) = await platform.eventually(dead, message="the date dead-lettered")
    reason = str((letter.headers or {}).get("x-dead-letter-reason"))
    assert reason.startswith(f"rejected: session {session_number}, not scheduled: "), reason
    for number in numbers:
        assert f"{number}: session {session_number} has no date yet" in reason
        assert (await platform.inquiry(number))["status"] == "awaiting_session"
