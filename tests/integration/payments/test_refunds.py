"""Refunds: approved at once, or waiting for a finance approver's decision."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import eventually
from tests.integration.helpers import dead_letters
from tests.integration.payments.conftest import publish, refund_requested

pytestmark = pytest.mark.integration

APPROVED = "payments.refund.approved.v1"
REJECTED = "payments.refund.rejected.v1"


@pytest.fixture
def paid_bill(provider: Any, request_payment: Any) -> Any:
    async def pay() -> tuple[Any, str]:
        event, issued = await request_payment(amount_fils=100000)
        number = issued["e_payment_number"]
        assert (await provider.pay(number, 100000)).status_code == 200
        return event, number

    return pay


async def test_a_refund_needing_approval_waits_and_only_a_finance_approver_approves_it(
    payments: Any, published: Any, paid_bill: Any, amqp: Any, token_for: Any
) -> None:
    payment, number = await paid_bill()
    refund = refund_requested(payment, amount_fils=75000, needs_approval=True)
    reference = refund.data["refund_reference"]
    staff = token_for("finance-staff-1", "finance.staff")
    approver = token_for("finance-approver-1", "finance.approver")
    citizen = token_for("citizen-1", "citizen")

    await publish(amqp, refund)

    async def pending() -> list[Any]:
        listed = (await payments.get("/v1/refunds", staff)).json()["items"]
        return [item for item in listed if item["refund_reference"] == reference]

    waiting = (await eventually(pending, message="the refund waits for approval"))[0]
    assert waiting["status"] == "pending_approval" and waiting["amount_fils"] == 75000
    # One page of refunds (not of bills): the newest request first, with the total of them all.
    first = (await payments.get("/v1/refunds", staff, page_size=1)).json()
    assert [item["refund_reference"] for item in first["items"]] == [reference]
    assert first["page"] == 1 and first["page_size"] == 1 and first["total"] >= 1
    past_the_end = (await payments.get("/v1/refunds", staff, page=first["total"] + 1)).json()
    assert past_the_end["items"] == [] and past_the_end["total"] == first["total"]
    path = f"/v1/refunds/{reference}/approval"
    assert (await payments.post(path, staff, {})).status_code == 403
    assert (await payments.post(path, citizen, {})).status_code == 403
    approved = await payments.post(path, approver, {"note": "senior management agreed"})
    again = await payments.post(path, approver, {})

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert again.status_code == 409
    event = await published.one(APPROVED, reference)
    assert event["amount_fils"] == 75000
    assert event["decided_by_role"] == "finance.approver"
    assert event["reason"] == "senior management agreed"
    assert event["payment_reference"] == payment.data["payment_reference"]
    assert published.of(REJECTED, reference) == []
    bill = (await payments.get(f"/v1/bills/{number}", staff)).json()
    assert bill["refunds"][0]["status"] == "approved"


async def test_a_refund_needing_approval_is_rejected_by_a_finance_approver(
    payments: Any, published: Any, paid_bill: Any, amqp: Any, token_for: Any
) -> None:
    payment, _ = await paid_bill()
    refund = refund_requested(payment, amount_fils=75000, needs_approval=True)
    reference = refund.data["refund_reference"]
    approver = token_for("finance-approver-1", "finance.approver")
    await publish(amqp, refund)

    async def decided() -> Any:
        answer = await payments.post(
            f"/v1/refunds/{reference}/rejection", approver, {"note": "no proof of absence"}
        )
        return answer if answer.status_code != 404 else None

    answer = await eventually(decided, message="the refund can be decided")

    assert answer.status_code == 200 and answer.json()["status"] == "rejected"
    event = await published.one(REJECTED, reference)
    assert event["decided_by_role"] == "finance.approver"
    assert event["reason"] == "no proof of absence"
    assert published.of(APPROVED, reference) == []


async def test_a_refund_not_needing_approval_is_approved_at_once(
    published: Any, paid_bill: Any, amqp: Any
) -> None:
    payment, _ = await paid_bill()
    refund = refund_requested(payment, amount_fils=100000, needs_approval=False)

    await publish(amqp, refund)
    await publish(amqp, refund)

    event = await published.one(APPROVED, refund.data["refund_reference"])
    assert event["decided_by_role"] == "system"
    assert event["amount_fils"] == 100000


async def test_a_refund_of_an_unpaid_bill_or_of_more_than_was_paid_is_dead_lettered(
    payments: Any, paid_bill: Any, request_payment: Any, amqp: Any, published: Any
) -> None:
    unpaid, _ = await request_payment()
    payment, _ = await paid_bill()
    await publish(amqp, refund_requested(unpaid, amount_fils=1000, needs_approval=False))
    await publish(amqp, refund_requested(payment, amount_fils=100001, needs_approval=False))

    dead: list[Any] = []

    async def both_dead() -> bool:
        dead.extend(await dead_letters(amqp, payments.queue))
        return len(dead) == 2

    await eventually(both_dead, message="both refunds dead-lettered")
    reasons = sorted(str(message.headers["x-dead-letter-reason"]) for message in dead)
    assert "exceeds" in reasons[0] and "nothing to refund" in reasons[1]
    assert [kind for kind, _ in published.events if kind.startswith("payments.refund")] == []
