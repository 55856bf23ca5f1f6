"""At-least-once delivery, exactly-once effect: every event exams consumes, delivered again (the
same message) or published again (a new id, the same data), changes nothing: no state, no
version, no SMS, no event."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.exams.conftest import OFFICIAL, Published, StartPlatform, next_exam_time

pytestmark = pytest.mark.integration


async def test_every_event_delivered_twice_changes_nothing(
    start_platform: StartPlatform, published: Published
) -> None:
    platform = await start_platform()
    trial = (await platform.submit(platform.citizen("citizen-t")))["request_number"]
    official = [
        (await platform.submit(platform.citizen(f"citizen-{n}"), exam_code=OFFICIAL))[
            "request_number"
        ]
        for n in (1, 2)
    ]
    for number in (trial, *official):
        assert (await platform.pay(number)).status_code == 200
    await platform.reaches(trial, "ready_to_sit")
    for number in official:
        await platform.reaches(number, "awaiting_session")

    async def session_complete() -> str | None:
        session = (await platform.inquiry(official[1]))["session"]
        return session["session_number"] if session and session["candidates"] == 2 else None

    session_number = await platform.eventually(session_complete)
    response = await platform.call(
        "POST",
        f"/v1/sessions/{session_number}/schedule",
        platform.coordinator(),
        {"exam_at": next_exam_time(platform.now()).isoformat()},
    )
    assert response.status_code == 200, response.text
    for number in official:
        await platform.reaches(number, "scheduled")
    for number in official:
        await platform.sms(number, 3)  # bill, paid, date
        await published.one("exams.request.scheduled.v1", number)
    before = {number: await platform.inquiry(number) for number in (trial, *official)}
    session_before = (
        await platform.call("GET", f"/v1/sessions/{session_number}", platform.coordinator())
    ).json()
    exams_events_before = published.count("exams.")

    # Every bill.paid and the session's scheduled event, again and under a new id.
    paid = [await published.one("payments.bill.paid.v1", n) for n in (trial, *official)]
    scheduled = await published.one("exams.session.scheduled.v1", session_number)
    for body in paid:
        await platform.deliver_again(body)
        await platform.deliver_again(body, new_id=True)
    await platform.deliver_again(scheduled)
    await platform.deliver_again(scheduled, new_id=True)
    await platform.consumed("exams.payments", 3 + 3 + 6)  # issued, paid, twice again
    await platform.consumed("exams.sessions", 1 + 2)

    for number, request in before.items():
        again = await platform.inquiry(number)
        assert (again["status"], again["version"]) == (request["status"], request["version"])
        assert again["timeline"] == request["timeline"]
    session_after = (
        await platform.call("GET", f"/v1/sessions/{session_number}", platform.coordinator())
    ).json()
    assert session_after["version"] == session_before["version"]
    assert session_after["candidates"] == session_before["candidates"]
    assert len(await platform.sms(trial, 2)) == 2
    for number in official:
        assert len(await platform.sms(number, 3)) == 3
    # Nothing new was published by exams, beyond the two copies this test itself sent.
    await asyncio.sleep(0.5)
    assert published.count("exams.") == exams_events_before + 2


async def test_a_bill_issued_again_while_the_fee_waits_changes_nothing_without_an_inbox(
    start_platform: StartPlatform, published: Published
) -> None:
    """`payments.bill.issued.v1` is consumed without the inbox (its use case is idempotent by the
    request's own state): delivered again, or published again under a new id, while the fee
    still waits, it leaves the request as it was, and no inbox record is written for it."""
    platform = await start_platform()
    number = (await platform.submit(platform.citizen("citizen-issued"), exam_code=OFFICIAL))[
        "request_number"
    ]
    issued = await published.one("payments.bill.issued.v1", number)

    async def bill_shown() -> dict[str, Any] | None:
        found = await platform.inquiry(number)
        return found if found["fee"]["e_payment_number"] else None

    before = await platform.eventually(bill_shown)
    await platform.deliver_again(issued)
    await platform.deliver_again(issued, new_id=True)
    await platform.consumed("exams.payments", 3)

    after = await platform.inquiry(number)
    assert after["status"] == before["status"] == "awaiting_payment"
    assert (after["version"], after["fee"]) == (before["version"], before["fee"])
    assert after["timeline"] == before["timeline"]
    inbox = platform.database["inbox"]
    assert await inbox.count_documents({"consumer": platform.service.queue("exams.payments")}) == 0
