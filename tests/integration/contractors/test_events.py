"""What the payments queue does with an event the renewal cannot take (the platform's policy,
`services/common/consumer.py`): a bill of another service is none of contractors' business and is
acknowledged with no effect; a bill of a renewal that does not exist, or paid for a permit removed
from the registry since, is refused and dead-lettered with its reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import Applicant, BillPaid, new_event
from tests.integration.conftest import eventually
from tests.integration.contractors.conftest import StartPlatform
from tests.integration.helpers import dead_letters

pytestmark = pytest.mark.integration

QUEUE = "contractors.payments"
APPLICANT = Applicant(name="مؤسسة النور للمقاولات", phone="+962791234567", lang="ar")


def _paid(reference: str, number: str) -> Any:
    data = BillPaid(
        payment_reference=reference,
        request_number=number,
        e_payment_number="2026000123457",
        amount_fils=100_000,
        paid_at=datetime.now(UTC),
        applicant=APPLICANT,
    )
    return new_event(
        "payments.bill.paid.v1",
        data,
        source_service="payments",
        subject=number,
        time=datetime.now(UTC),
    )


async def test_a_bill_of_another_service_is_ignored_and_a_refused_one_is_dead_lettered(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform(payments=False)
    queue = platform.contractors.queue(QUEUE)

    # Another service's bill: acknowledged, no effect, nothing dead-lettered.
    await platform.publish(_paid("exams:EX-2026-000001:fee", "EX-2026-000001"))
    await platform.consumed(QUEUE, 1)
    assert await dead_letters(platform.connection, queue) == []

    # A renewal awaiting its fee whose permit has since left the registry, and a renewal that
    # does not exist: both refused, each with its reason.
    number = (await platform.renewal(platform.citizen()))["request_number"]
    approved = await platform.decide(number, "approval")
    assert approved["status"] == "awaiting_payment"
    removed = await platform.database["permits"].delete_one({"_id": "P-2026-0112|2026"})
    assert removed.deleted_count == 1
    await platform.publish(_paid(f"contractors:{number}:fee", number))
    await platform.publish(_paid("contractors:CP-2026-999999:fee", "CP-2026-999999"))

    dead: list[Any] = []

    async def both_dead() -> bool:
        dead.extend(await dead_letters(platform.connection, queue))
        return len(dead) == 2

    await eventually(both_dead, message="both refused bills dead-lettered")
    reasons = sorted(str(message.headers["x-dead-letter-reason"]) for message in dead)
    assert "no renewal request CP-2026-999999" in reasons[0], reasons
    assert "no longer in the registry" in reasons[1], reasons
    assert (await platform.inquiry(number))["status"] == "awaiting_payment"
