"""Courses, as its README's walkthrough goes: a paid course, the request, the bill paid by the
bank, the booking SMS and the enrolment confirmation (its PDF, its verification page); then time
passes to the course's start (the clock file) and staff mark it held: the evaluation SMS."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.acceptance.conftest import Platform

CITIZEN = ("citizen-co-1", "citizen")
ADMIN = ("admin-1", "courses.admin")
AMMAN = ZoneInfo("Asia/Amman")


def test_a_paid_course_from_request_to_evaluation(platform: Platform) -> None:
    starts = (platform.now().astimezone(AMMAN) + timedelta(days=10)).replace(
        hour=17, minute=0, second=0, microsecond=0
    )
    course = platform.call(
        "POST",
        "courses",
        "/v1/courses",
        as_=ADMIN,
        json={
            "title": {"ar": "أساسيات البرمجة", "en": "Programming basics"},
            "fee_fils": 30000,
            "minimum": 1,
            "capacity": 20,
            "starts_at": starts.isoformat(),
            "schedule": {"ar": "الأحد والثلاثاء 5-7 مساءً", "en": "Sun and Tue 5-7 pm"},
            "place": {"ar": "المحطة المعرفية - ماركا", "en": "Knowledge Station, Marka"},
        },
        expect=201,
    ).json()
    code = course["code"]
    platform.call("POST", "courses", f"/v1/courses/{code}/publish", as_=ADMIN, expect=200)
    created = platform.call(
        "POST",
        "courses",
        "/v1/requests",
        as_=CITIZEN,
        headers={"Idempotency-Key": uuid.uuid4().hex},
        json={
            "course_code": code,
            "applicant": {
                "name": "ليلى أحمد",
                "phone": "0791234567",
                "lang": "ar",
                "national_id": "9901234567",
            },
        },
        expect=201,
    ).json()
    number = created["number"]
    path = f"/v1/requests/{number}"
    inquiry = platform.until("courses", path, CITIZEN, lambda body: body["pending_bill"])
    bill = inquiry["pending_bill"]
    assert inquiry["status"] == "awaiting_payment" and bill["amount"] == "30.000"
    assert platform.sms(number, "payments.bill.issued.v1") == platform.bill_sms(
        number, bill, CITIZEN
    )

    platform.pay(bill["e_payment_number"])
    assert platform.sms(number, "courses.request.paid.v1") == (
        f"أمانة عمّان الكبرى: استُلمت رسوم الطلب {number} وتأكد حجزكم في دورة أساسيات البرمجة، "
        f"تبدأ {starts.strftime('%d/%m/%Y %H:%M')}، الأحد والثلاثاء 5-7 مساءً، في المحطة "
        "المعرفية - ماركا."
    )
    approved = platform.until("courses", path, CITIZEN, lambda b: b["status"] == "approved")
    assert approved["pending_bill"] is None

    # The booking confirmed is a document the citizen keeps: listed, downloaded as a PDF, and
    # checked by anyone at the address its QR code holds, without logging in.
    listed = platform.until("courses", "/v1/documents", CITIZEN, lambda b: b["total"] == 1)
    [confirmation] = listed["items"]
    assert (confirmation["kind"], confirmation["number"]) == ("enrolment_confirmation", number)
    assert (confirmation["title_ar"], confirmation["state"]) == ("تأكيد التسجيل في دورة", "valid")
    pdf = platform.call("GET", "courses", confirmation["pdf_url"], as_=CITIZEN, expect=200)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert hashlib.sha256(pdf.content).hexdigest() == confirmation["sha256"]
    page = httpx.get(confirmation["verification_url"], timeout=30)
    assert page.status_code == 200 and number in page.text and "صالحة" in page.text
    twin = httpx.get(confirmation["verification_url"], params={"format": "json"}, timeout=30)
    assert (twin.json()["state"], twin.json()["holder"]) == ("valid", "ليلى أ.")

    # The course's day comes (the clock file), and staff mark it held.
    platform.move_clock(starts.astimezone(UTC) + timedelta(hours=3))
    link = "https://forms.amman.jo/evaluation/programming"
    platform.call(
        "POST",
        "courses",
        f"/v1/courses/{code}/held",
        as_=ADMIN,
        json={"evaluation_url": link},
        expect=200,
    )
    assert platform.sms(number, "courses.request.evaluation_requested.v1") == (
        "أمانة عمّان الكبرى: شكراً لحضوركم دورة أساسيات البرمجة (الطلب "
        f"{number}). نرجو تقييم الدورة عبر الرابط: {link}"
    )
    final = platform.until("courses", path, CITIZEN, lambda b: b["status"] == "completed")
    assert final["pending_bill"] is None
