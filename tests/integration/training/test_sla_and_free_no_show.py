"""The review's SLA (5 working days; the staff list of overdue requests and its gauge), and the
decision for a no-show at free training: cancelled, with an SMS, nothing to refund."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.integration.conftest import eventually
from tests.integration.helpers import metric
from tests.integration.training.conftest import CALENDAR, Platform

pytestmark = pytest.mark.integration


async def test_reviews_past_five_working_days_are_listed_overdue_and_counted(
    platform: Platform,
) -> None:
    number, _, _ = await platform.submitted(platform.student_form())
    fresh, _, _ = await platform.submitted(platform.student_form())
    found = await platform.request(number)
    assert found["is_overdue"] is False
    due = CALENDAR.deadline_after(platform.now(), 5)
    assert found["deadline"].startswith(due.isoformat()[:16])

    await platform.move_clock(due + timedelta(minutes=1))
    late, _, _ = await platform.submitted(platform.student_form())  # submitted after the jump

    listed = await platform.call(
        "GET", "/v1/staff/requests", platform.reviewer, overdue="true", page_size=100
    )
    assert listed.status_code == 200
    overdue = {item["number"] for item in listed.json()["items"]}
    assert {number, fresh} <= overdue and late not in overdue
    assert all(item["is_overdue"] for item in listed.json()["items"])
    assert listed.json()["counts"]["overdue"] >= 2
    assert listed.json()["total"] >= 2 and listed.json()["page"] == 1

    async def counted() -> bool:
        value = await metric(platform.training.url, "training_requests_under_review", sla="overdue")
        return value >= 2

    await eventually(counted, message="the gauge counts the overdue reviews")
    await platform.approve(number)
    after = await platform.call(
        "GET", "/v1/staff/requests", platform.supervisor, overdue="true", page_size=100
    )
    assert number not in {item["number"] for item in after.json()["items"]}
    by_status = await platform.call(
        "GET", "/v1/staff/requests", platform.reviewer, status="approved", page_size=100
    )
    assert number in {item["number"] for item in by_status.json()["items"]}


async def test_a_no_show_at_free_training_cancels_it(platform: Platform) -> None:
    form = platform.student_form()
    number, _, _ = await platform.submitted(form)
    await platform.approve(number)
    await platform.move_to_day(date.fromisoformat(form["start_date"]))

    cancelled = await platform.attendance(number, attended=False)

    assert cancelled["status"] == "cancelled" and cancelled["refund_fils"] == 0
    text = await platform.sms(number, "training.request.cancelled.v1")
    assert text == (f"أمانة عمّان الكبرى: أُلغي طلبكم {number}، والسبب: عدم الحضور لمباشرة التدريب.")
