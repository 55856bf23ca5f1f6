"""Seed 002, the steps that depend on time: step 5 / note 2 (rescheduling), note 1 (unpaid at
the start) and step 8 (after the course is held). Courses' and payments' clock is moved."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.integration.conftest import eventually
from tests.integration.courses.conftest import Platform

pytestmark = pytest.mark.integration

FEE = 25_000


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_note_2_start_without_the_minimum_reschedules_by_the_rule_and_tells_each_applicant(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=3, starts_in=timedelta(hours=2))
    first, _, _ = await platform.enrolled(code)
    second, _, _ = await platform.enrolled(code, lang="en")
    starts_at = _at((await platform.course(code))["starts_at"])

    await platform.move_clock(starts_at + timedelta(minutes=1))

    arabic = await platform.sms(first, "courses.request.rescheduled.v1")
    english = await platform.sms(second, "courses.request.rescheduled.v1")
    assert "لعدم اكتمال العدد" in arabic and "الموعد الجديد" in arabic
    assert "minimum number of participants was not reached" in english
    course = await platform.course(code)
    # The configured rule (COURSES_POSTPONE_DAYS, 14 by default): same weekday and hour.
    assert _at(course["starts_at"]) == starts_at + timedelta(days=14)
    assert course["status"] == "open"
    for number in (first, second):
        request = await platform.request(number)
        assert request["status"] == "waiting"
        assert [e["action"] for e in request["timeline"]] == ["submit", "reschedule"]


async def test_step_5_staff_reschedule_and_every_waiting_applicant_gets_the_new_date(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=5, starts_in=timedelta(days=3))
    numbers = [(await platform.enrolled(code))[0] for _ in range(3)]
    new_start = platform.now() + timedelta(days=20)

    response = await platform.call(
        "POST",
        f"/v1/courses/{code}/reschedule",
        platform.admin,
        {"starts_at": new_start.isoformat(), "reason": "قاعة التدريب قيد الصيانة"},
    )

    assert response.status_code == 200, response.text
    for number in numbers:
        text = await platform.sms(number, "courses.request.rescheduled.v1")
        assert "الموعد الجديد" in text
    assert _at(response.json()["starts_at"]) == new_start.replace(second=0, microsecond=0)


async def test_note_1_unpaid_when_the_course_starts_is_cancelled_and_the_bill_withdrawn(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=1, fee_fils=FEE, starts_in=timedelta(hours=3))
    number, subject, _ = await platform.enrolled(code)
    bill = await platform.bill(number, subject)
    starts_at = _at((await platform.course(code))["starts_at"])

    await platform.move_clock(starts_at + timedelta(minutes=1))

    text = await platform.sms(number, "courses.request.cancelled.v1")
    assert number in text and "لم تُدفع الرسوم" in text
    request = await platform.request(number)
    assert request["status"] == "cancelled"

    async def bill_closed() -> bool:
        found = await platform.bill(number, subject)
        # Withdrawn by courses at the start, or expired by payments at the same due time:
        # either way it can no longer be paid.
        return found["status"] in ("cancelled", "expired")

    await eventually(bill_closed, message="bill withdrawn")
    assert bill["due_at"] is not None
    assert (await platform.course(code))["seats_taken"] == 0


async def test_8_after_the_course_is_held_each_participant_gets_the_evaluation_link(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=2, starts_in=timedelta(hours=4))
    numbers = [(await platform.enrolled(code))[0] for _ in range(2)]
    for number in numbers:
        await platform.sms(number, "courses.request.approved.v1")
    starts_at = _at((await platform.course(code))["starts_at"])
    early = await platform.call(
        "POST", f"/v1/courses/{code}/held", platform.admin,
        {"evaluation_url": "https://eval.amman.jo/c/1"},
    )  # fmt: skip
    assert early.status_code == 409, early.text
    await platform.move_clock(starts_at + timedelta(days=1))

    response = await platform.call(
        "POST",
        f"/v1/courses/{code}/held",
        platform.admin,
        {"evaluation_url": f"https://eval.amman.jo/c/{code}"},
    )

    assert response.status_code == 200, response.text
    for number in numbers:
        text = await platform.sms(number, "courses.request.evaluation_requested.v1")
        assert f"https://eval.amman.jo/c/{code}" in text
        await platform.status_becomes(number, "completed")
