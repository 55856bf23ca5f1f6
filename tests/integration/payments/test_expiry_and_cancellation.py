"""Unpaid bills end: at their due time (the sweeper, on a controlled clock), or when cancelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.payments.conftest import payment_cancelled, publish, settle

pytestmark = pytest.mark.integration

EXPIRED = "payments.bill.expired.v1"
CANCELLED = "payments.bill.cancelled.v1"


async def test_an_unpaid_bill_expires_at_its_due_time_and_a_later_payment_is_an_exception(
    payments: Any, provider: Any, published: Any, request_payment: Any
) -> None:
    due_at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    event, issued = await request_payment(due_at=due_at)
    number, reference = issued["e_payment_number"], event.data["payment_reference"]

    payments.move_clock(due_at - timedelta(seconds=5))
    await settle()
    await settle()  # several sweeps
    assert published.of(EXPIRED, reference) == []
    assert (await provider.inquire(number)).json()["BillStatus"] == "new"

    payments.move_clock(due_at + timedelta(milliseconds=500))
    expired = await published.one(EXPIRED, reference)
    late = await provider.pay(number, 25000)

    assert expired["e_payment_number"] == number
    assert due_at < datetime.fromisoformat(expired["at"]) < due_at + timedelta(seconds=5)
    assert late.status_code == 410, late.text
    assert late.json()["error_code"] == "bill-expired"
    assert (await provider.inquire(number)).json()["BillStatus"] == "expired"
    bill = await payments.database["bills"].find_one({"_id": number})
    assert bill["status"] == "expired" and "expires_at" not in bill


async def test_a_cancelled_payment_request_cancels_the_unpaid_bill_and_a_later_payment_is_refused(
    payments: Any, provider: Any, published: Any, request_payment: Any, amqp: Any
) -> None:
    event, issued = await request_payment()
    number, reference = issued["e_payment_number"], event.data["payment_reference"]

    await publish(amqp, payment_cancelled(event))
    cancelled = await published.one(CANCELLED, reference)
    late = await provider.pay(number, 25000)

    assert cancelled["e_payment_number"] == number
    assert late.status_code == 410
    assert late.json()["error_code"] == "bill-cancelled"
    bill = await payments.database["bills"].find_one({"_id": number})
    assert bill["status"] == "cancelled"
    assert bill["history"][-1]["why"] == "the applicant withdrew"


async def test_cancelling_a_paid_bill_leaves_it_paid(
    payments: Any, provider: Any, published: Any, request_payment: Any, amqp: Any
) -> None:
    event, issued = await request_payment()
    number, reference = issued["e_payment_number"], event.data["payment_reference"]
    assert (await provider.pay(number, 25000)).status_code == 200

    await publish(amqp, payment_cancelled(event))
    await payments.consumed(2)
    await payments.drained()
    await settle()

    assert published.of(CANCELLED, reference) == []
    assert len(published.of("payments.bill.paid.v1", reference)) == 1
    bill = await payments.database["bills"].find_one({"_id": number})
    assert bill["status"] == "paid"
