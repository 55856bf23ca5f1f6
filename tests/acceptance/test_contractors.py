"""Contractors, as its README's walkthrough goes: lookup, a one-time code (the development code
`make run` prints), the renewal, approval, the bill paid by the bank, the permit renewed, and the
renewed permit's PDF with its public verification page."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

import httpx

from tests.acceptance.conftest import Platform

CITIZEN = ("citizen-cp-1", "citizen")
REVIEWER = ("reviewer-1", "contractors.reviewer")
PERMIT = {"contractor_number": "C-10234", "permit_number": "P-2026-0112", "permit_year": 2026}


def dmy(value: str) -> str:
    return date.fromisoformat(value).strftime("%d/%m/%Y")


def test_a_permit_renewal_with_its_one_time_code(platform: Platform) -> None:
    assert platform.otp_code, f"make run printed no development code:\n{platform.banner}"
    found = platform.call("POST", "contractors", "/v1/lookups", as_=CITIZEN, json=PERMIT)
    assert found.status_code == 200, found.text
    assert found.json()["contractor_name"]["en"] == "Al-Noor Contracting Est."

    verification = platform.call(
        "POST",
        "contractors",
        "/v1/verifications",
        as_=CITIZEN,
        json={**PERMIT, "phone": "0791234567"},
        expect=201,
    ).json()
    created = platform.call(
        "POST",
        "contractors",
        "/v1/requests",
        as_=CITIZEN,
        headers={"Idempotency-Key": uuid.uuid4().hex},
        json={
            **PERMIT,
            "reason": "انتهاء مدة التصريح",
            "phone": "0791234567",
            "verification_id": verification["verification_id"],
            "code": platform.otp_code,
        },
        expect=201,
    ).json()
    number = created["request_number"]
    assert created["status"] == "submitted"
    assert platform.sms(number, "contractors.renewal.submitted.v1") == (
        "أمانة عمّان الكبرى: تم استلام طلب تجديد تصريح المقاول رقم P-2026-0112 لسنة 2026، "
        f"ورقم الطلب {number}. سيصلكم قرار المراجعة برسالة نصية."
    )

    path = f"/v1/requests/{number}"
    platform.call("POST", "contractors", f"{path}/approval", as_=REVIEWER, json={}, expect=200)
    inquiry = platform.until("contractors", path, CITIZEN, lambda body: body["pending_bill"])
    bill = inquiry["pending_bill"]
    assert bill["amount"] == "100.000" and inquiry["status"] == "awaiting_payment"
    assert platform.sms(number, "payments.bill.issued.v1") == platform.bill_sms(
        number, bill, CITIZEN
    )

    platform.pay(bill["e_payment_number"])
    done = platform.until("contractors", path, CITIZEN, lambda b: b["status"] == "completed")
    assert done["pending_bill"] is None
    assert platform.sms(number, "contractors.renewal.completed.v1") == (
        f"أمانة عمّان الكبرى: تم تجديد تصريح المقاول رقم P-2026-0112 (الطلب {number})، وهو ساري "
        f"المفعول من {dmy(done['valid_from'])} حتى {dmy(done['valid_to'])}."
    )

    # The renewed permit: in the citizen's documents, downloaded, checked on its public page.
    documents = platform.until(
        "contractors", "/v1/documents", CITIZEN, lambda body: body["total"] >= 1, timeout=60
    )
    permit = next(
        item
        for item in documents["items"]
        if item["kind"] == "renewed_permit" and item["number"] == "P-2026-0112/2026"
    )
    assert permit["valid_until"] == done["valid_to"] and permit["state"] == "valid"
    pdf = platform.call("GET", "contractors", permit["pdf_url"], as_=CITIZEN, expect=200)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert hashlib.sha256(pdf.content).hexdigest() == permit["sha256"]
    # The verification page is the address printed on it (and in its QR code): no login.
    page = httpx.get(permit["verification_url"], timeout=30)
    assert page.status_code == 200 and "P-2026-0112/2026" in page.text
    assert 'data-state="valid"' in page.text
    twin = httpx.get(permit["verification_url"], params={"format": "json"}, timeout=30).json()
    assert (twin["state"], twin["holder"]) == ("valid", "مؤسسة النور للمقاولات")
