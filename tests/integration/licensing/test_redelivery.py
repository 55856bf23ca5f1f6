"""At-least-once delivery, exactly-once effect: every event licensing consumes (a bill paid,
expired or cancelled), delivered again (the same message) or published again (a new id, the same
data), changes nothing: no state, no version, no SMS, no event."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from tests.integration.licensing.conftest import Platform

pytestmark = pytest.mark.integration


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
