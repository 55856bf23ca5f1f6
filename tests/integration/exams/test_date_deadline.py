"""Seed 004: an official exam's date is confirmed within one working week of payment and the
session reaching its minimum. With a controlled clock: the minimum is reached on Thursday
21 May 2026; the weekend, Independence Day (25 May) and Arafah and Eid al-Adha (26-29 May) do
not count, so the fifth working day is Wednesday 3 June. Until its end the session is within
its SLA; after it, it shows in the staff's overdue lists, the metrics and an event."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.integration.exams.conftest import OFFICIAL, Published, StartPlatform

pytestmark = pytest.mark.integration

# Thursday 21 May 2026, 10:00 in Amman (UTC+3).
THURSDAY = datetime(2026, 5, 21, 7, 0, tzinfo=UTC)
# The end of Wednesday 3 June in Amman: the deadline.
DEADLINE = datetime(2026, 6, 3, 21, 0, tzinfo=UTC)


async def test_3_the_date_is_due_within_one_working_week_across_a_weekend_and_eid(
    start_platform: StartPlatform, published: Published
) -> None:
    platform = await start_platform(at=THURSDAY)
    coordinator = platform.coordinator()
    numbers = [
        (await platform.submit(platform.citizen(f"citizen-{n}"), exam_code=OFFICIAL))[
            "request_number"
        ]
        for n in (1, 2)
    ]
    for number in numbers:
        assert (await platform.pay(number)).status_code == 200

    async def complete() -> dict[str, object] | None:
        request = await platform.inquiry(numbers[1])
        session = request["session"]
        return request if session and session["status"] == "awaiting_date" else None

    waiting = await platform.eventually(complete)
    assert waiting["session"]["date_due_at"] == "2026-06-03T21:00:00Z"  # type: ignore[index]
    assert waiting["deadline"] == {  # the inquiry shows it to the applicant
        "at": "2026-06-03T21:00:00Z",
        "label": {"ar": "آخر موعد لتحديد موعد الامتحان", "en": "Exam date to be set by"},
        "is_overdue": False,
    }
    session_number = waiting["session"]["session_number"]  # type: ignore[index]
    minimum = json.loads(await published.one("exams.session.minimum_reached.v1", session_number))
    assert minimum["data"]["date_due_at"] == "2026-06-03T21:00:00Z"

    # Wednesday 3 June, 23:59 in Amman: the last minute of the week, still within it.
    await platform.move_clock(DEADLINE.replace(hour=20, minute=59))

    async def nearing() -> bool:
        return await platform.metric("exams_sessions_awaiting_date", sla="nearing") == 1

    await platform.eventually(nearing)  # a sweep ran at the new time
    assert await platform.metric("exams_sessions_overdue_total") == 0
    overdue = await platform.call("GET", "/v1/sessions", coordinator, params={"overdue": "true"})
    assert overdue.json()["total"] == 0

    # Thursday 4 June, 00:00:30: the week is over without a date.
    await platform.move_clock(DEADLINE.replace(second=30))

    async def marked() -> bool:
        return await platform.metric("exams_sessions_overdue_total") == 1

    await platform.eventually(marked)
    assert await platform.metric("exams_sessions_awaiting_date", sla="overdue") == 1
    overdue = await platform.call("GET", "/v1/sessions", coordinator, params={"overdue": "true"})
    (session,) = overdue.json()["items"]
    assert session["session_number"] == session_number
    assert session["is_overdue"] and session["overdue_since"] is not None
    assert session["timeline"][-1]["action"] == "mark_overdue"
    assert session["timeline"][-1]["label"]["en"] == "Date overdue"
    requests = await platform.call("GET", "/v1/requests", coordinator, params={"overdue": "true"})
    assert sorted(item["request_number"] for item in requests.json()["items"]) == sorted(numbers)
    assert (await platform.inquiry(numbers[0]))["deadline"]["is_overdue"] is True
    event = json.loads(await published.one("exams.session.overdue.v1", session_number))
    assert event["data"]["date_due_at"] == "2026-06-03T21:00:00Z"

    # Set late, the date still reaches the candidates, and the session says it was late.
    response = await platform.call(
        "POST",
        f"/v1/sessions/{session_number}/schedule",
        coordinator,
        {"exam_at": "2026-06-07T10:00:00+03:00"},
    )
    assert response.status_code == 200, response.text
    scheduled = json.loads(await published.one("exams.session.scheduled.v1", session_number))
    assert scheduled["data"]["was_overdue"] is True
    for number in numbers:
        await platform.reaches(number, "scheduled")
    after = await platform.call("GET", "/v1/sessions", coordinator, params={"overdue": "true"})
    assert after.json()["total"] == 0
