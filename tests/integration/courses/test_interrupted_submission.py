"""A submission cut short: the process died between storing a request and taking its seat."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration.conftest import eventually
from tests.integration.courses.conftest import Platform

pytestmark = pytest.mark.integration


async def test_a_request_stored_without_its_seat_is_removed_by_the_seat_check(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=2)
    number, _, _ = await platform.enrolled(code)
    stored = await platform.database["requests"].find_one({"_id": number})
    assert stored is not None and stored["seat_check_at"] is None  # seated at once
    # What the process would have left had it died before taking the seat: a copy of the
    # request under a number the course does not hold, its check already due.
    orphan = {
        **stored,
        "_id": "CR-2026-990001",
        "version": 1,
        "seat_check_at": platform.now() - timedelta(minutes=1),
    }
    orphan.pop("outbox", None)
    # A copy, not the same POST: the original's Idempotency-Key stays the original's.
    orphan.pop("idempotency_key", None)
    orphan.pop("idempotency_fingerprint", None)
    await platform.database["requests"].insert_one(orphan)

    async def removed() -> bool:
        return await platform.database["requests"].find_one({"_id": "CR-2026-990001"}) is None

    await eventually(removed, message="the orphan request removed")
    course = await platform.course(code)
    assert course["seats_taken"] == 1
    assert (await platform.request(number))["status"] == "waiting"


async def test_a_seated_request_whose_check_is_due_only_loses_the_check(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=2)
    number, _, _ = await platform.enrolled(code)
    due = platform.now() - timedelta(minutes=1)
    await platform.database["requests"].update_one(
        {"_id": number}, {"$set": {"seat_check_at": due}}
    )

    async def cleared() -> bool:
        found = await platform.database["requests"].find_one({"_id": number})
        return found is not None and found["seat_check_at"] is None

    await eventually(cleared, message="the seat check cleared")
    assert (await platform.request(number))["status"] == "waiting"
