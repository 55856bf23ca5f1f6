"""Licensing, as its README's walkthrough goes: a draft with its two documents, submitted; the
clerk's check; the inspection booked and, when its day comes (the clock file), passed; the
committee's approval; the bill paid by the bank; the licence by its link; the licence's PDF from
the citizen's documents, and its public verification page."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, time, timedelta

from services.common.calendar import WorkingCalendar
from services.common.formatting import AMMAN, amman_time
from tests.acceptance.conftest import Platform

CITIZEN = ("citizen-lc-1", "citizen")
CLERK = ("clerk-1", "licensing.clerk")
INSPECTOR = ("inspector-1", "licensing.inspector")
COMMITTEE = ("committee-1", "licensing.committee")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_a_professional_licence_from_draft_to_licence(platform: Platform) -> None:
    created = platform.call(
        "POST",
        "licensing",
        "/v1/requests",
        as_=CITIZEN,
        headers={"Idempotency-Key": uuid.uuid4().hex},
        json={
            "applicant_kind": "individual",
            "applicant": {
                "name": "محمود خليل",
                "phone": "0791234567",
                "lang": "ar",
                "id_type": "national",
                "id_number": "9861012345",
            },
            "camp": "wehdat",
            "profession": "grocery",
            "area_m2": 35.5,
            "trade_name": "بقالة الأمل",
            "address": "شارع السوق، بجانب مدرسة الوكالة",
            "tenure": "rented",
        },
        expect=201,
    ).json()
    number = created["number"]
    path = f"/v1/requests/{number}"
    for kind in ("occupancy_permit", "lease_contract"):
        platform.call(
            "PUT",
            "licensing",
            f"{path}/documents/{kind}",
            as_=CITIZEN,
            files={"file": (f"{kind}.pdf", PDF, "application/pdf")},
            expect=200,
        )
    platform.call("POST", "licensing", f"{path}/submit", as_=CITIZEN, expect=200)
    assert platform.sms(number, "licensing.request.submitted.v1") == (
        f"أمانة عمّان الكبرى: قُبل طلب رخصة المهن رقم {number} لـبقالة الأمل في مخيم الوحدات "
        "(مخيم عمّان الجديد). مدة الإنجاز 3 أيام عمل، وستصلكم رسالة بكل خطوة."
    )
    platform.call(
        "POST",
        "licensing",
        f"{path}/document-check",
        as_=CLERK,
        json={"accepted": True, "issues": []},
        expect=200,
    )

    # The inspection on the next working day at 10:00; when that day comes, it is passed.
    calendar = WorkingCalendar()
    day = calendar.add_working_days(calendar.local_date(platform.now()), 1)
    visit = datetime.combine(day, time(10), tzinfo=AMMAN).astimezone(UTC)
    platform.call(
        "POST",
        "licensing",
        f"{path}/inspection",
        as_=INSPECTOR,
        json={"inspection_at": visit.isoformat()},
        expect=200,
    )
    assert platform.sms(number, "licensing.request.inspection_scheduled.v1") == (
        f"أمانة عمّان الكبرى: حُدّد موعد الكشف على موقع طلب الرخصة {number} في "
        f"{amman_time(visit)}. يرجى التواجد في بقالة الأمل."
    )
    platform.move_clock(visit + timedelta(minutes=30))
    platform.call(
        "POST",
        "licensing",
        f"{path}/inspection-result",
        as_=INSPECTOR,
        json={"compliant": True, "findings": None},
        expect=200,
    )
    platform.call(
        "POST",
        "licensing",
        f"{path}/committee-decision",
        as_=COMMITTEE,
        json={"decision": "approved"},
        expect=200,
    )
    assert platform.sms(number, "licensing.request.committee_decided.v1") == (
        f"أمانة عمّان الكبرى: وافقت اللجنة المعنية على طلب الرخصة {number}. الرسوم المطلوبة "
        "33.000 دينار، وستصلكم رسالة برقم الدفع الإلكتروني."
    )
    inquiry = platform.until("licensing", path, CITIZEN, lambda body: body["pending_bill"])
    bill = inquiry["pending_bill"]
    assert inquiry["status"] == "awaiting_payment" and bill["amount"] == "33.000"
    assert platform.sms(number, "payments.bill.issued.v1") == platform.bill_sms(
        number, bill, CITIZEN
    )

    platform.pay(bill["e_payment_number"])
    licensed = platform.until("licensing", path, CITIZEN, lambda b: b["status"] == "licensed")
    assert licensed["pending_bill"] is None
    licence = licensed["licence"]
    text = platform.sms(number, "licensing.licence.issued.v1")
    assert text == (
        f"أمانة عمّان الكبرى: صدرت رخصة المهن {licence['number']} (الطلب {number}) سارية حتى "
        f"{amman_time(datetime.fromisoformat(licence['valid_until']))}. لعرض الرخصة: "
        f"{licence['verification_url']}"
    )
    # The link in the SMS shows the licence, to anyone who has it.
    shown = platform.call(
        "GET",
        "licensing",
        licence["verification_url"].split(platform.url("licensing"), 1)[1],
        params={"format": "json"},
        expect=200,
    ).json()
    assert shown["licence_number"] == licence["number"] and shown["is_valid"] is True

    # The licence is also a PDF: in the citizen's documents, downloaded, and checked by anyone
    # on the page its QR code opens (the address the inquiry gives).
    documents = platform.until(
        "licensing", "/v1/documents", CITIZEN, lambda body: body["items"], timeout=90
    )
    [document] = documents["items"]
    assert (document["kind"], document["number"], document["state"]) == (
        "licence",
        licence["number"],
        "valid",
    )
    assert document["pdf_url"] == licence["pdf_url"]
    pdf = platform.call("GET", "licensing", licence["pdf_url"], as_=CITIZEN, expect=200)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert hashlib.sha256(pdf.content).hexdigest() == document["sha256"]
    verification = licence["document_verification_url"]
    assert verification == document["verification_url"]
    page_path = verification.split(platform.url("licensing"), 1)[1]
    page = platform.call("GET", "licensing", page_path, expect=200)
    assert 'data-state="valid"' in page.text and licence["number"] in page.text
    checked = platform.call("GET", "licensing", page_path, params={"format": "json"}, expect=200)
    assert checked.json()["state"] == "valid" and checked.json()["holder"] == "محمود خ."
    # Someone else does not get it.
    other = ("citizen-lc-2", "citizen")
    platform.call("GET", "licensing", licence["pdf_url"], as_=other, expect=404)
