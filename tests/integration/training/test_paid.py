"""Seed 003, steps 8, 10 (paid), 11, 12 and notes 2 and 3: an individual's GIS training, the
fee, no-shows and postponement, the 75 % refund by senior management, the end of the period."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from services.common.formatting import amman_date
from services.training.domain import add_months
from tests.integration.conftest import eventually
from tests.integration.training.conftest import CALENDAR, Platform

pytestmark = pytest.mark.integration


def _working_day_on_or_after(day: date) -> date:
    return day if CALENDAR.is_working_day(day) else CALENDAR.next_working_day(day)


async def test_3_paid_gis_training_is_approved_after_the_fee(platform: Platform) -> None:
    form = platform.gis_form("arcgis_pro")
    number, subject, _ = await platform.submitted(form)

    billed = await platform.approve(number)

    assert billed["status"] == "awaiting_payment" and billed["fee_fils"] == 200000
    bill = await platform.bill(number, subject)
    assert bill["amount_fils"] == 200000
    assert bill["payment_reference"] == f"training:{number}:fee"
    bill_sms = await platform.sms(number, "payments.bill.issued.v1")
    assert bill["e_payment_number"] in bill_sms and "200.000" in bill_sms
    await platform.pay(bill["e_payment_number"], bill["amount_fils"])
    text = await platform.sms(number, "training.request.approved.v1")
    assert text == (
        f"أمانة عمّان الكبرى: تمت الموافقة على طلبكم {number} بعد دفع الرسوم. يمكنكم طباعة "
        "كتاب الموافقة من شاشة الاستعلام عن الطلب على www.amman.jo. يبدأ التدريب في "
        f"{amman_date(form['start_date'])}."
    )
    found = await platform.status_becomes(number, "approved")
    assert found["e_payment_number"] == bill["e_payment_number"]
    assert await platform.templates(number) == [
        "payments.bill.issued.v1",
        "training.request.approved.v1",
        "training.request.submitted.v1",
    ]
    letter = await platform.letter(
        f"/v1/requests/{number}/approval-letter", platform.token(subject)
    )
    assert letter.startswith(b"%PDF-")


async def test_3_unpaid_gis_training_is_cancelled_when_the_bill_expires(
    platform: Platform,
) -> None:
    number, subject, _ = await platform.submitted(platform.gis_form("beginner"), lang="en")
    billed = await platform.approve(number)
    bill = await platform.bill(number, subject)
    assert bill["amount_fils"] == 100000

    await platform.move_clock(datetime.fromisoformat(billed["deadline"]) + timedelta(minutes=5))

    text = await platform.sms(number, "training.request.cancelled.v1")
    assert text == (
        f"Greater Amman Municipality: request {number} is cancelled: the fee was not paid in time."
    )
    found = await platform.status_becomes(number, "cancelled")
    assert [e["action"] for e in found["timeline"]] == ["submit", "approve", "expire_payment"]


async def _no_show(platform: Platform, number: str, start: str) -> dict[str, Any]:
    await platform.move_to_day(date.fromisoformat(start))
    return await platform.attendance(number, attended=False)


async def test_6_no_show_then_postponed_once_then_attended(platform: Platform) -> None:
    number, subject, found = await platform.paid_gis_request()
    citizen = platform.token(subject)
    start = date.fromisoformat(found["start_date"])
    early = await platform.call(
        "POST", f"/v1/requests/{number}/attendance", platform.supervisor, {"attended": False}
    )
    assert early.status_code == 409  # not started yet

    offered = await _no_show(platform, number, found["start_date"])

    latest = add_months(start, 1)
    assert offered["status"] == "postponement_offered" and offered["can_postpone"]
    text = await platform.sms(number, "training.request.postponement_offered.v1")
    assert text == (
        f"أمانة عمّان الكبرى: لم تحضروا لمباشرة التدريب (الطلب {number}). يمكنكم تأجيله لمرة "
        f"واحدة فقط إلى موعد لا يتجاوز {amman_date(latest)} من شاشة الاستعلام على www.amman.jo"
    )
    path = f"/v1/requests/{number}/postpone"
    too_late = await platform.call(
        "POST", path, citizen, {"start_date": (latest + timedelta(days=1)).isoformat()}
    )
    assert too_late.status_code == 422
    assert too_late.json()["errors"][0]["field"] == "start_date"
    other = await platform.call(
        "POST", path, platform.token("citizen-x"), {"start_date": latest.isoformat()}
    )
    assert other.status_code == 404
    new_start = _working_day_on_or_after(start + timedelta(days=7))
    postponed = await platform.call("POST", path, citizen, {"start_date": new_start.isoformat()})
    assert postponed.status_code == 200, postponed.text
    body = postponed.json()
    assert body["status"] == "postponed" and body["start_date"] == new_start.isoformat()
    assert body["original_start_date"] == start.isoformat()
    moved = await platform.sms(number, "training.request.postponed.v1")
    assert f"ويبدأ في {amman_date(new_start)}" in moved
    twice = await platform.call(
        "POST", path, citizen, {"start_date": (new_start + timedelta(days=1)).isoformat()}
    )
    assert twice.status_code == 409
    assert twice.json()["errors"][0]["field"] == "start_date"

    await platform.move_to_day(new_start)
    attended = await platform.attendance(number, attended=True)

    assert attended["status"] == "attending"
    assert "training.request.cancelled.v1" not in await platform.templates(number)


async def test_6_no_show_twice_cancels_withholds_25_percent_and_refunds_75_on_approval(
    platform: Platform,
) -> None:
    number, subject, found = await platform.paid_gis_request()
    citizen = platform.token(subject)
    start = date.fromisoformat(found["start_date"])
    await _no_show(platform, number, found["start_date"])
    new_start = _working_day_on_or_after(start + timedelta(days=10))
    postponed = await platform.call(
        "POST", f"/v1/requests/{number}/postpone", citizen, {"start_date": new_start.isoformat()}
    )
    assert postponed.status_code == 200, postponed.text

    cancelled = await _no_show(platform, number, new_start.isoformat())

    assert cancelled["status"] == "cancelled"
    assert (cancelled["withheld_fils"], cancelled["refund_fils"]) == (50000, 150000)
    text = await platform.sms(number, "training.request.cancelled.v1")
    assert text == (
        f"أمانة عمّان الكبرى: أُلغي طلبكم {number}، والسبب: عدم الحضور في موعد التدريب الجديد "
        "بعد التأجيل. خُصم 25% من الرسوم (50.000 دينار)، واسترداد 150.000 دينار بانتظار موافقة "
        "الإدارة العليا."
    )
    reference = f"training:{number}:no_show_refund"
    staff = platform.token("finance-staff-1", "finance.staff")

    async def pending() -> dict[str, Any] | None:
        answer = await platform.call(
            "GET", f"/v1/refunds/{reference}", staff, service=platform.payments
        )
        return answer.json() if answer.status_code == 200 else None

    refund = await eventually(pending, message="the refund waits for approval")
    assert refund["status"] == "pending_approval" and refund["needs_approval"] is True
    assert refund["amount_fils"] == 150000
    approval = f"/v1/refunds/{reference}/approval"
    refused = await platform.call("POST", approval, staff, {}, service=platform.payments)
    assert refused.status_code == 403
    approver = platform.token("finance-approver-1", "finance.approver")
    approved = await platform.call(
        "POST", approval, approver, {"note": "موافقة الإدارة العليا"}, service=platform.payments
    )
    assert approved.status_code == 200, approved.text

    refund_sms = await platform.sms(number, "payments.refund.approved.v1")
    assert refund_sms.startswith("أمانة عمّان الكبرى: تمت الموافقة على استرداد مبلغ 150.000 دينار")

    async def remembered() -> bool:
        return (await platform.request(number))["refund_status"] == "approved"

    await eventually(remembered, message="training remembers the approved refund")


async def test_7_training_period_over_completion_letter_ready(platform: Platform) -> None:
    number, subject, found = await platform.paid_gis_request(lang="en")
    await platform.move_to_day(date.fromisoformat(found["start_date"]))
    await platform.attendance(number, attended=True)

    await platform.move_to_day(date.fromisoformat(found["end_date"]) + timedelta(days=1), hour=1)

    text = await platform.sms(number, "training.request.completed.v1")
    assert text == (
        f"Greater Amman Municipality: the training of request {number} has ended. The completion "
        "letter and evaluation report are ready: print the letter from the inquiry screen at "
        "www.amman.jo and collect the report in person."
    )
    done = await platform.status_becomes(number, "completed")
    assert done["completion_letter"] == f"/v1/requests/{number}/completion-letter"
    letter = await platform.letter(done["completion_letter"], platform.token(subject))
    assert letter.startswith(b"%PDF-")
    other = await platform.call("GET", done["completion_letter"], platform.token("citizen-y"))
    assert other.status_code == 404


async def test_7_mission_over_asks_for_the_study(platform: Platform) -> None:
    form = platform.mission_form()
    number, _subject, _ = await platform.submitted(form)
    await platform.approve(number)
    approved = await platform.sms(number, "training.request.approved.v1")
    assert "تبدأ المهمة في" in approved

    await platform.move_to_day(date.fromisoformat(form["end_date"]) + timedelta(days=1), hour=1)

    text = await platform.sms(number, "training.request.completed.v1")
    assert text == (
        f"أمانة عمّان الكبرى: انتهت المهمة للطلب {number}. يرجى تسليم نسخة ورقية وإلكترونية "
        "من الدراسة بعد إنهائها وصدور نتائجها."
    )
    done = await platform.status_becomes(number, "completed")
    assert done["completion_letter"] is None
    assert done["next_step"]["en"].startswith("Hand in a paper and an electronic copy")
    mission_attendance = await platform.call(
        "POST", f"/v1/requests/{number}/attendance", platform.supervisor, {"attended": True}
    )
    assert mission_attendance.status_code in (409, 422)
