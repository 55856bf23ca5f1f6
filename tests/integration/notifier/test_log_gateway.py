"""The log gateway of local runs: delivered at once, and the reserved test numbers that walk a
message down every other path (permanent, temporary, never confirmed)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import eventually
from tests.integration.notifier.conftest import STAFF, Reader, bill_issued, publish, random_phone

pytestmark = pytest.mark.integration


async def test_every_path_can_be_tried_with_the_reserved_numbers(
    start_notifier: Any, token_for: Any, amqp: Any, failures: list[Any]
) -> None:
    service = await start_notifier(
        NOTIFIER_GATEWAY="log",
        NOTIFIER_MAX_ATTEMPTS="2",
        NOTIFIER_UNCONFIRMED_AFTER_SECONDS="0.5",
        SWEEPER_POLL_SECONDS="0.1",
    )
    staff = Reader(service.url, token_for("staff-1", STAFF))
    delivered = bill_issued(random_phone())
    rejected = bill_issued("0790000002")
    unavailable = bill_issued("0790000003")
    never_confirmed = bill_issued("0790000004")
    for event in (delivered, rejected, unavailable, never_confirmed):
        await publish(amqp, event)

    [ok] = await staff.settled(delivered.subject, "delivered")
    assert await staff.history(ok["id"]) == ["queued", "sending", "sent", "delivered"]

    [refused] = await staff.settled(rejected.subject, "permanent-failure")
    assert (refused["attempts"], refused["reason"]) == (1, "test number: the number does not exist")

    [gave_up] = await staff.settled(unavailable.subject, "technical-failure")
    assert gave_up["attempts"] == 2
    assert gave_up["reason"] == (
        "gave up after 2 attempt(s): test number: the network is unavailable"
    )

    [silent] = await staff.settled(never_confirmed.subject, "technical-failure")
    assert await staff.history(silent["id"]) == [
        "queued",
        "sending",
        "sent",
        "temporary-failure",
        "sending",
        "sent",
        "technical-failure",
    ]
    assert silent["reason"] == "gave up after 2 attempt(s): no delivery receipt within 0.5 s"

    async def three_published() -> bool:
        ids = {failure.message_id for failure in failures}
        return {refused["id"], gave_up["id"], silent["id"]} <= ids

    await eventually(three_published, message="a notifier.sms.failed.v1 for each failure")
    assert ok["id"] not in {failure.message_id for failure in failures}
    logs = service.log_text()
    assert "+962790000002" not in logs and "+96279*****02" in logs, "numbers are masked in logs"
