"""Training, as its README's walkthrough goes: an individual's GIS course with its attachment,
approval, the fee paid by the bank, the approval SMS with the start date."""

from __future__ import annotations

import uuid
from datetime import timedelta

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
