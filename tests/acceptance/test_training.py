"""Training, as its README's walkthrough goes: an individual's GIS course with its attachment,
approval, the fee paid by the bank, the approval SMS with the start date, the approval letter
(a PDF) downloaded and its verification page opened."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import httpx

from tests.acceptance.conftest import Platform

CITIZEN = ("citizen-tr-1", "citizen")
REVIEWER = ("reviewer-1", "training.reviewer")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_a_gis_course_from_request_to_approval(platform: Platform) -> None:
    start = platform.now().date() + timedelta(days=14)
    end = start + timedelta(days=11)
    created = platform.call(
        "POST",
        "training",
        "/v1/requests",
        as_=CITIZEN,
        headers={"Idempotency-Key": uuid.uuid4().hex},
        data={
            "kind": "training",
            "applicant_type": "individual",
            "certificate_type": "bachelor",
            "department_code": "gis",
            "course_code": "arcgis_pro",
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "name": "سامي خالد",
            "phone": "0791234567",
            "lang": "ar",
            "national_id": "9901234567",
        },
        files={"attachment": ("bachelor.pdf", PDF, "application/pdf")},
        expect=201,
    ).json()
    number = created["number"]
    assert created["status"] == "under_review"
    assert platform.sms(number, "training.request.submitted.v1") == (
        f"أمانة عمّان الكبرى: تم قبول طلبكم للتدريب مبدئياً، ورقم الطلب {number}. يمكنكم "
        "متابعته من شاشة الاستعلام عن الطلب على www.amman.jo"
    )

    path = f"/v1/requests/{number}"
    platform.call("POST", "training", f"{path}/approve", as_=REVIEWER, json={}, expect=200)
    inquiry = platform.until("training", path, CITIZEN, lambda body: body["pending_bill"])
    bill = inquiry["pending_bill"]
    assert inquiry["status"] == "awaiting_payment" and bill["due"].endswith(" 23:59")
    assert platform.sms(number, "payments.bill.issued.v1") == platform.bill_sms(
        number, bill, CITIZEN
    )

    platform.pay(bill["e_payment_number"])
    assert platform.sms(number, "training.request.approved.v1") == (
        f"أمانة عمّان الكبرى: تمت الموافقة على طلبكم {number} بعد دفع الرسوم. يمكنكم طباعة كتاب "
        "الموافقة من شاشة الاستعلام عن الطلب على www.amman.jo. يبدأ التدريب في "
        f"{start.strftime('%d/%m/%Y')}."
    )
    final = platform.until("training", path, CITIZEN, lambda b: b["status"] == "approved")
    assert final["pending_bill"] is None

    # The approval letter, a PDF the citizen keeps: in their documents, and on the inquiry.
    def issued(body: dict[str, Any]) -> bool:
        return any(item["number"] == number for item in body["items"])

    documents = platform.until("training", "/v1/documents", CITIZEN, issued, timeout=60)
    [letter] = [item for item in documents["items"] if item["number"] == number]
    assert (letter["kind"], letter["version"], letter["state"]) == ("approval_letter", 1, "valid")
    assert letter["title_ar"] == "كتاب موافقة" and letter["title_en"] == "Approval letter"
    pdf = platform.call("GET", "training", letter["pdf_url"], as_=CITIZEN, expect=200)
    assert pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == letter["sha256"]
    assert final["approval_letter"] == f"{path}/approval-letter"
    printed = platform.call("GET", "training", final["approval_letter"], as_=CITIZEN, expect=200)
    assert printed.content == pdf.content
    platform.call("GET", "training", letter["pdf_url"], as_=("citizen-tr-2", "citizen"), expect=404)

    # Whoever is shown it opens the address its QR code holds: no login, the state, masked name.
    page = httpx.get(letter["verification_url"], timeout=30)
    assert page.status_code == 200 and 'data-state="valid"' in page.text
    assert "سامي خ." in page.text and "سامي خالد" not in page.text
    twin = httpx.get(letter["verification_url"], params={"format": "json"}, timeout=30).json()
    assert (twin["state"], twin["number"], twin["sha256"]) == ("valid", number, letter["sha256"])
