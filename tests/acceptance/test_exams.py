"""Exams, as its README's walkthrough goes: a trial exam request, its bill, paid by the bank after
time moved on (the citizen downloads the payment's receipt and opens its verification page), then
attendance, result and collection; the candidate downloads the result slip and the
certificate-ready notice and opens their verification pages, and the notice's page says revoked
once the certificate is collected."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import timedelta

import httpx

from tests.acceptance.conftest import Platform

CITIZEN = ("citizen-ex-1", "citizen")
COORDINATOR = ("coordinator-1", "exams.coordinator")


def test_a_trial_exam_from_request_to_certificate(platform: Platform) -> None:
    created = platform.call(
        "POST",
        "exams",
        "/v1/requests",
        as_=CITIZEN,
        headers={"Idempotency-Key": uuid.uuid4().hex},
        json={
            "exam_type": "trial",
            "exam_code": "english-placement",
            "applicant_name": "ليلى أحمد الحداد",
            "id_type": "national_number",
            "id_number": "9871012345",
            "phone": "0791234567",
            "lang": "ar",
        },
        expect=201,
    ).json()
    number = created["request_number"]
    assert created["status"] == "awaiting_payment"

    # The bill SMS, and the inquiry shows the same number, amount and due time while it waits.
    path = f"/v1/requests/{number}"
    inquiry = platform.until("exams", path, CITIZEN, lambda body: body["pending_bill"])
    bill = inquiry["pending_bill"]
    e_payment_number = bill["e_payment_number"]
    assert inquiry["fee"]["e_payment_number"] == e_payment_number
    assert bill["amount"] == "10.000" and bill["due"].endswith(" 23:59")
    assert e_payment_number in bill["how_to_pay"]["ar"]
    assert e_payment_number in bill["how_to_pay"]["en"]
    assert platform.sms(number, "payments.bill.issued.v1") == (
        f"أمانة عمّان الكبرى: رقم الدفع الإلكتروني للطلب {number} هو {e_payment_number} بمبلغ "
        "10.000 دينار (رسوم تحديد مستوى الإنجليزية). يُدفع عبر إي فواتيركم (رقم المفوتر 106) "
        f"قبل {bill['due']}."
    )

    # Two hours later (the clock file), the bank pays with the simulator.
    platform.move_clock(platform.now() + timedelta(hours=2))
    platform.pay(e_payment_number)
    assert platform.sms(number, "exams.request.paid.v1") == (
        f"أمانة عمّان الكبرى: تم دفع رسوم الطلب {number} (تحديد مستوى الإنجليزية). يمكنكم "
        "الحضور لعقد الامتحان التجريبي في أي وقت خلال الدوام الرسمي في مركز التدريب - الشميساني."
    )
    paid = platform.until("exams", path, CITIZEN, lambda b: b["status"] == "ready_to_sit")
    assert paid["pending_bill"] is None and paid["fee"]["paid_at"]

    # The receipt of the paid bill, in payments: the citizen downloads it and opens its
    # verification page (public, no login).
    bill_path = f"/v1/bills/{e_payment_number}"
    receipt = platform.until("payments", bill_path, CITIZEN, lambda b: b["receipt"])["receipt"]
    receipts = platform.until(
        "payments", "/v1/documents", CITIZEN, lambda body: body["total"] == 1
    )["items"]
    assert [(r["kind"], r["number"], r["id"]) for r in receipts] == [
        ("payment_receipt", e_payment_number, receipt["document_id"])
    ]
    pdf = platform.call("GET", "payments", receipt["pdf_url"], as_=CITIZEN, expect=200)
    assert pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == receipts[0]["sha256"]
    assert receipts[0]["verification_url"] == receipt["verification_url"]
    assert _state(receipt["verification_url"]) == "valid"

    platform.call("POST", "exams", f"{path}/attendance", as_=COORDINATOR, json={}, expect=200)
    platform.call(
        "POST",
        "exams",
        f"{path}/result",
        as_=COORDINATOR,
        json={"outcome": "passed", "score": 78},
        expect=200,
    )
    platform.sms(number, "exams.request.result_recorded.v1")

    # The candidate's documents: the result slip and the notice that the certificate is ready.
    listed = platform.until("exams", "/v1/documents", CITIZEN, lambda body: body["total"] == 2)
    documents = {item["kind"]: item for item in listed["items"]}
    assert set(documents) == {"exam_result_slip", "certificate_notice"}
    for document in documents.values():
        assert document["number"] == number and document["state"] == "valid"
        pdf = platform.call("GET", "exams", document["pdf_url"], as_=CITIZEN, expect=200)
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
        assert hashlib.sha256(pdf.content).hexdigest() == document["sha256"]
        # The verification page its QR code opens: public, no login.
        page = httpx.get(document["verification_url"], timeout=30)
        assert page.status_code == 200 and 'data-state="valid"' in page.text
    notice = documents["certificate_notice"]

    platform.call("POST", "exams", f"{path}/collection", as_=COORDINATOR, json={}, expect=200)
    final = platform.call("GET", "exams", path, as_=CITIZEN, expect=200).json()
    assert final["status"] == "certificate_collected"

    # Collected: the notice has done its job, and its page says so (the slip stays valid).
    deadline = time.monotonic() + 30
    while (state := _state(notice["verification_url"])) != "revoked":
        assert time.monotonic() < deadline, f"the notice's page still says {state}"
        time.sleep(0.3)
    assert _state(documents["exam_result_slip"]["verification_url"]) == "valid"


def _state(verification_url: str) -> str:
    """The state the verification page's JSON twin gives (`?format=json`)."""
    twin = httpx.get(verification_url, params={"format": "json"}, timeout=30)
    assert twin.status_code == 200, twin.text
    return str(twin.json()["state"])
