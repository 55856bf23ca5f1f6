"""Seed 002, branch by branch, end to end: courses, payments and the notifier as real processes.

Each test is one numbered branch of the seed; it asserts the SMS the applicant received.
"""

from __future__ import annotations

import pytest

from tests.integration.courses.conftest import Platform

pytestmark = pytest.mark.integration

FEE = 30_000


async def test_6_1_free_course_without_prerequisite_is_approved_with_the_details(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=1)

    number, _, _ = await platform.enrolled(code)

    text = await platform.sms(number, "courses.request.approved.v1")
    assert number in text and "تمت الموافقة" in text
    assert "أساسيات البرمجة" in text and "ماركا" in text and "الأحد والثلاثاء 5-7 مساءً" in text
    assert (await platform.request(number))["status"] == "approved"


async def test_6_2_free_course_with_an_earlier_pass_is_approved_at_once(
    platform: Platform,
) -> None:
    subject_code = f"computer-{platform.now().timestamp():.0f}-6-2"
    first = await platform.open_course(minimum=1, subject=subject_code)
    number, subject, applicant = await platform.enrolled(first)
    await platform.sms(number, "courses.request.placement_test_required.v1")
    assert (await platform.placement_result(number, passed=True)).status_code == 200
    later = await platform.open_course(minimum=1, subject=subject_code)

    response = await platform.enrol(later, subject, applicant)

    assert response.status_code == 201, response.text
    second = response.json()["number"]
    text = await platform.sms(second, "courses.request.approved.v1")
    assert second in text and "تمت الموافقة" in text
    assert await platform.templates(second) == ["courses.request.approved.v1"]


async def test_6_3_without_a_pass_the_placement_test_link_is_sent(platform: Platform) -> None:
    code = await platform.open_course(minimum=1, subject="computer-basics")

    number, _, _ = await platform.enrolled(code, lang="en")

    text = await platform.sms(number, "courses.request.placement_test_required.v1")
    assert "https://tests.amman.jo/p/computer-basics" in text and number in text
    assert text.startswith("Greater Amman Municipality")
    assert (await platform.request(number))["status"] == "awaiting_test"


async def test_6_3_1_passed_placement_test_is_approved(platform: Platform) -> None:
    code = await platform.open_course(minimum=1, subject="computer-basics")
    number, _, _ = await platform.enrolled(code)
    await platform.sms(number, "courses.request.placement_test_required.v1")

    response = await platform.placement_result(number, passed=True)

    assert response.status_code == 200, response.text
    text = await platform.sms(number, "courses.request.approved.v1")
    assert "تمت الموافقة" in text and "أساسيات البرمجة" in text


async def test_6_3_2_failed_placement_test_is_refused(platform: Platform) -> None:
    code = await platform.open_course(minimum=1, subject="computer-basics")
    number, _, _ = await platform.enrolled(code)
    await platform.sms(number, "courses.request.placement_test_required.v1")

    response = await platform.placement_result(number, passed=False)

    assert response.status_code == 200, response.text
    text = await platform.sms(number, "courses.request.refused.v1")
    assert "امتحان المستوى" in text and "لا يمكن قبول" in text
    assert (await platform.request(number))["status"] == "refused"
    # The seat is given back.
    assert (await platform.course(code))["seats_taken"] == 0


async def test_7_1_paid_course_without_prerequisite_sends_the_e_payment_number(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=1, fee_fils=FEE)

    number, subject, _ = await platform.enrolled(code)

    bill = await platform.bill(number, subject)
    text = await platform.sms(number, "payments.bill.issued.v1")
    assert bill["e_payment_number"] in text and "30.000" in text
    assert (await platform.request(number))["status"] == "awaiting_payment"


async def test_7_2_paid_course_with_an_earlier_pass_sends_the_e_payment_number(
    platform: Platform,
) -> None:
    subject_code = f"computer-{platform.now().timestamp():.0f}-7-2"
    first = await platform.open_course(minimum=1, subject=subject_code)
    number, subject, applicant = await platform.enrolled(first)
    await platform.sms(number, "courses.request.placement_test_required.v1")
    await platform.placement_result(number, passed=True)
    await platform.status_becomes(number, "approved")
    paid_course = await platform.open_course(minimum=1, subject=subject_code, fee_fils=FEE)

    second = (await platform.enrol(paid_course, subject, applicant)).json()["number"]

    bill = await platform.bill(second, subject)
    text = await platform.sms(second, "payments.bill.issued.v1")
    assert bill["e_payment_number"] in text
    assert await platform.templates(second) == ["payments.bill.issued.v1"]


async def test_7_3_paid_course_without_a_pass_sends_the_placement_test_link(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=1, fee_fils=FEE, subject="computer-basics")

    number, _, _ = await platform.enrolled(code)

    text = await platform.sms(number, "courses.request.placement_test_required.v1")
    assert "https://tests.amman.jo/p/computer-basics" in text
    assert (await platform.request(number))["status"] == "awaiting_test"


async def test_7_3_1_passed_placement_test_on_a_paid_course_sends_the_e_payment_number(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=1, fee_fils=FEE, subject="computer-basics")
    number, subject, _ = await platform.enrolled(code)
    await platform.sms(number, "courses.request.placement_test_required.v1")

    assert (await platform.placement_result(number, passed=True)).status_code == 200

    bill = await platform.bill(number, subject)
    text = await platform.sms(number, "payments.bill.issued.v1")
    assert bill["e_payment_number"] in text
    assert (await platform.request(number))["status"] == "awaiting_payment"


async def test_7_3_2_failed_placement_test_on_a_paid_course_is_refused(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=1, fee_fils=FEE, subject="computer-basics")
    number, _, _ = await platform.enrolled(code)
    await platform.sms(number, "courses.request.placement_test_required.v1")

    assert (await platform.placement_result(number, passed=False)).status_code == 200

    text = await platform.sms(number, "courses.request.refused.v1")
    assert "امتحان المستوى" in text
    assert "payments.bill.issued.v1" not in await platform.templates(number)


async def test_7_4_paid_fee_confirms_the_booking_with_the_details(platform: Platform) -> None:
    code = await platform.open_course(minimum=1, fee_fils=FEE)
    number, subject, _ = await platform.enrolled(code)
    bill = await platform.bill(number, subject)

    await platform.pay(bill["e_payment_number"], FEE)

    text = await platform.sms(number, "courses.request.paid.v1")
    assert number in text and "تأكد حجزكم" in text and "ماركا" in text and "5-7 مساءً" in text
    request = await platform.request(number)
    assert request["status"] == "approved"
    assert request["e_payment_number"] == bill["e_payment_number"]
