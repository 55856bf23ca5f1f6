"""Seed 000, branch by branch, end to end: licensing, payments and the notifier as real processes.

Each test walks one numbered step of the seed (or a branch it is silent on) and asserts the SMS
the applicant received.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from tests.integration.conftest import eventually
from tests.integration.licensing.conftest import AMMAN, EXTERNAL, GROCERY_FEE, Platform

pytestmark = pytest.mark.integration


async def test_1_submitted_request_gets_an_sms_with_its_number(platform: Platform) -> None:
    number, subject = await platform.submitted()

    text = await platform.sms(number, "licensing.request.submitted.v1")
    assert text == (
        f"أمانة عمّان الكبرى: قُبل طلب رخصة المهن رقم {number} لـبقالة الأمل في مخيم الوحدات "
        "(مخيم عمّان الجديد). مدة الإنجاز 3 أيام عمل، وستصلكم رسالة بكل خطوة."
    )
    request = await platform.request(number, platform.token(subject))
    assert request["status"] == "document_check"
    assert request["fee_fils"] == GROCERY_FEE
    assert request["sla"]["clock"] == "running" and request["sla"]["target_at"]
    assert [d["is_attached"] for d in request["documents"]] == [True, True]


async def test_1_in_english_the_sms_is_in_english(platform: Platform) -> None:
    number, _ = await platform.submitted(lang="en")

    text = await platform.sms(number, "licensing.request.submitted.v1")
    assert text == (
        f"Greater Amman Municipality: licence request {number} for بقالة الأمل in Al-Wehdat "
        "(Amman New Camp) is received: done within 3 working days, an SMS at each step."
    )


async def test_2_document_check_twice_names_the_documents_each_time(platform: Platform) -> None:
    number, subject = await platform.submitted()
    await platform.sms(number, "licensing.request.submitted.v1")

    first = await platform.check_documents(
        number, [{"document": "occupancy_permit", "issue": "wrong", "note": "منتهي الصلاحية"}]
    )

    assert first.status_code == 200, first.text
    text = await platform.sms(number, "licensing.request.documents_rejected.v1")
    assert text == (
        f"أمانة عمّان الكبرى: طلب الرخصة {number}: يرجى استبدال المرفقات التالية وإعادة تقديم "
        "الطلب: إذن الإشغال (غير صحيح)."
    )
    request = await platform.request(number, platform.token(subject))
    assert request["status"] == "awaiting_documents" and request["sla"]["clock"] == "paused"
    # Resubmitting without replacing the named document is refused, naming it.
    early = await platform.act(number, subject, "submit")
    assert early.status_code == 422, early.text
    assert early.json()["errors"][0]["field"] == "documents"
    assert "إذن الإشغال" in early.json()["detail_ar"]
    assert (await platform.upload(number, subject, "occupancy_permit")).status_code == 200
    assert (await platform.act(number, subject, "submit")).status_code == 200

    second = await platform.check_documents(
        number,
        [
            {"document": "occupancy_permit", "issue": "missing", "note": "الصفحة الثانية"},
            {"document": "lease_contract", "issue": "wrong"},
        ],
    )

    assert second.status_code == 200, second.text
    text = await platform.sms(number, "licensing.request.documents_rejected.v1", count=2)
    assert text == (
        f"أمانة عمّان الكبرى: طلب الرخصة {number}: يرجى استبدال المرفقات التالية وإعادة تقديم "
        "الطلب: إذن الإشغال (ناقص)، عقد الإيجار (غير صحيح)."
    )
    for kind in ("occupancy_permit", "lease_contract"):
        assert (await platform.upload(number, subject, kind)).status_code == 200
    assert (await platform.act(number, subject, "submit")).status_code == 200
    accepted = await platform.check_documents(number)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "inspection_pending"
    assert accepted.json()["sla"]["clock"] == "running"


async def test_3_inspection_scheduled_sends_the_appointment(platform: Platform) -> None:
    number, _ = await platform.submitted()
    assert (await platform.check_documents(number)).status_code == 200
    slot = platform.next_slot(2, hour=11)

    response = await platform.schedule(number, slot)

    assert response.status_code == 200, response.text
    text = await platform.sms(number, "licensing.request.inspection_scheduled.v1")
    when = slot.astimezone(AMMAN).strftime("%d/%m/%Y 11:00")
    assert text == (
        f"أمانة عمّان الكبرى: حُدّد موعد الكشف على موقع طلب الرخصة {number} في {when}. "
        "يرجى التواجد في بقالة الأمل."
    )
    assert (await platform.request(number))["status"] == "inspection_scheduled"


async def test_4_non_compliant_premises_are_rectified_then_reinspected(
    platform: Platform,
) -> None:
    number, _ = await platform.submitted()
    assert (await platform.check_documents(number)).status_code == 200
    assert (await platform.schedule(number, platform.next_slot())).status_code == 200
    findings = "لا توجد طفاية حريق، والتمديدات الكهربائية مكشوفة"

    response = await platform.inspect(number, compliant=False, findings=findings)

    assert response.status_code == 200, response.text
    text = await platform.sms(number, "licensing.request.rectification_required.v1")
    assert text == (
        f"أمانة عمّان الكبرى: الموقع غير مطابق للشروط (طلب الرخصة {number}). يرجى تصويب "
        f"الأوضاع: {findings}. سيُحدَّد موعد لإعادة الكشف."
    )
    assert (await platform.request(number))["sla"]["clock"] == "paused"
    slot = platform.next_slot(1, hour=12)
    assert (await platform.schedule(number, slot)).status_code == 200
    again = await platform.sms(number, "licensing.request.inspection_scheduled.v1", count=2)
    when = slot.astimezone(AMMAN).strftime("%d/%m/%Y 12:00")
    assert again == (
        f"أمانة عمّان الكبرى: حُدّد موعد إعادة الكشف على موقع طلب الرخصة {number} في {when}. "
        "يرجى التواجد في بقالة الأمل."
    )
    compliant = await platform.inspect(number, compliant=True)
    assert compliant.status_code == 200, compliant.text
    assert compliant.json()["status"] == "committee_review"
    assert compliant.json()["sla"]["clock"] == "running"


async def test_5_committee_does_not_approve_with_the_reasons(platform: Platform) -> None:
    number, subject = await platform.submitted()
    await platform.to_committee(number)

    response = await platform.decide(
        number, "not_approved", reasons="النشاط غير مسموح به في هذا الموقع"
    )

    assert response.status_code == 200, response.text
    text = await platform.sms(number, "licensing.request.committee_decided.v1")
    assert text == (
        f"أمانة عمّان الكبرى: لم توافق اللجنة المعنية على طلب الرخصة {number}. "
        "الأسباب: النشاط غير مسموح به في هذا الموقع."
    )
    request = await platform.request(number, platform.token(subject))
    assert request["status"] == "refused" and request["sla"]["clock"] == "stopped"
    assert await platform.bills(number, subject) == []


async def test_5_8_9_approved_billed_paid_and_the_licence_link_works(platform: Platform) -> None:
    number, subject = await platform.submitted(lang="en")
    await platform.to_committee(number)

    response = await platform.decide(number, "approved")

    assert response.status_code == 200, response.text
    approved = await platform.sms(number, "licensing.request.committee_decided.v1")
    assert approved == (
        f"Greater Amman Municipality: the committee approved licence request {number}. "
        "The fee is 33.000 JOD; the e-payment number follows by SMS."
    )
    bill = await platform.bill(number, subject)
    assert bill["amount_fils"] == GROCERY_FEE and bill["payment_reference"].endswith(":fee")
    bill_sms = await platform.sms(number, "payments.bill.issued.v1")
    assert bill["e_payment_number"] in bill_sms

    await platform.pay(bill["e_payment_number"], bill["amount_fils"])

    text = await platform.sms(number, "licensing.licence.issued.v1")
    await check_licence(platform, number, subject, text)


async def check_licence(platform: Platform, number: str, subject: str, text: str) -> None:
    """The licence SMS carries a link that shows the licence, as HTML and as JSON."""
    request = await platform.request(number, platform.token(subject))
    assert request["status"] == "licensed"
    licence = request["licence"]
    url = licence["verification_url"]
    assert url in text and licence["number"] in text
    assert url.startswith(platform.licensing.url + "/v1/licences/")
    year = platform.now().astimezone(AMMAN).year
    assert f"31/12/{year} 23:59" in text
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(url)
        as_json = await client.get(url, headers={"Accept": "application/json"})
        wrong = await client.get(url[:-4] + "AAAA")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert licence["number"] in page.text and "بقالة الأمل" in page.text
    assert "Professional licence" in page.text and "رخصة مهن" in page.text
    assert as_json.status_code == 200
    body = as_json.json()
    assert body["licence_number"] == licence["number"] and body["request_number"] == number
    assert body["is_valid"] is True and body["valid_until"].startswith(f"{year}-12-31")
    assert wrong.status_code == 404
    assert await platform.templates(number) == sorted(
        [
            "licensing.request.submitted.v1",
            "licensing.request.inspection_scheduled.v1",
            "licensing.request.committee_decided.v1",
            "payments.bill.issued.v1",
            "licensing.licence.issued.v1",
        ]
        + [t for t in await platform.templates(number) if "external" in t]
    )


async def test_6_external_approval_given_then_approved_billed_paid_licensed(
    platform: Platform,
) -> None:
    number, subject = await platform.submitted()
    await platform.to_committee(number)

    response = await platform.decide(
        number, "external_approvals_required", authorities=["civil_defence", "health"]
    )

    assert response.status_code == 200, response.text
    text = await platform.sms(number, "licensing.request.external_approval_required.v1")
    assert text == (
        f"أمانة عمّان الكبرى: يحتاج طلب الرخصة {number} إلى موافقة المديرية العامة للدفاع "
        "المدني، وزارة الصحة. سنبلغكم بالنتيجة."
    )
    assert (await platform.request(number))["sla"]["clock"] == "paused"
    # Civil Defence's own system answers through its role; the clerk records the ministry's letter.
    civil_defence = platform.token("authority:civil_defence", EXTERNAL)
    given = await platform.call(
        "POST",
        f"/v1/requests/{number}/external-approvals/civil_defence",
        civil_defence,
        {"given": True, "reference": "CD-2026-4411"},
    )
    assert given.status_code == 200, given.text
    assert given.json()["status"] == "awaiting_external_approvals"
    health = await platform.call(
        "POST",
        f"/v1/requests/{number}/external-approvals/health",
        platform.clerk,
        {"given": True, "reference": "MOH/77/2026"},
    )
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "committee_review"
    assert (await platform.decide(number, "approved")).status_code == 200
    approved = await platform.sms(number, "licensing.request.committee_decided.v1")
    assert approved == (
        f"أمانة عمّان الكبرى: وافقت اللجنة المعنية على طلب الرخصة {number}. الرسوم المطلوبة "
        "33.000 دينار، وستصلكم رسالة برقم الدفع الإلكتروني."
    )
    bill = await platform.bill(number, subject)
    await platform.sms(number, "payments.bill.issued.v1")

    await platform.pay(bill["e_payment_number"], bill["amount_fils"])

    text = await platform.sms(number, "licensing.licence.issued.v1")
    assert text.startswith("أمانة عمّان الكبرى: صدرت رخصة المهن PL-")
    await check_licence(platform, number, subject, text)


async def test_7_civil_defence_refusal_ends_the_request(platform: Platform) -> None:
    number, subject = await platform.submitted()
    await platform.to_committee(number)
    required = await platform.decide(
        number, "external_approvals_required", authorities=["civil_defence"]
    )
    assert required.status_code == 200, required.text

    response = await platform.call(
        "POST",
        f"/v1/requests/{number}/external-approvals/civil_defence",
        platform.token("authority:civil_defence", EXTERNAL),
        {"given": False, "note": "لا يوجد مخرج طوارئ"},
    )

    assert response.status_code == 200, response.text
    text = await platform.sms(number, "licensing.request.external_approval_refused.v1")
    assert text == (
        f"أمانة عمّان الكبرى: لم يتم الحصول على موافقة الدفاع المدني على طلب الرخصة {number}، "
        "ولذلك لا يمكن إصدار الرخصة."
    )
    request = await platform.request(number, platform.token(subject))
    assert request["status"] == "refused"
    assert request["external_approvals"][0]["status"] == "refused"
    assert await platform.bills(number, subject) == []


async def test_unpaid_bill_expires_and_a_new_one_can_be_asked_for(platform: Platform) -> None:
    number, subject = await platform.submitted()
    await platform.to_committee(number)
    assert (await platform.decide(number, "approved")).status_code == 200
    first = await platform.bill(number, subject)

    await platform.move_clock(datetime.fromisoformat(first["due_at"]) + timedelta(minutes=5))

    await platform.status_becomes(number, "payment_expired", timeout=30)
    text = await platform.sms(number, "licensing.request.payment_expired.v1")
    assert text == (
        f"أمانة عمّان الكبرى: انتهت صلاحية رقم الدفع {first['e_payment_number']} لطلب الرخصة "
        f"{number} دون دفع. يمكنكم طلب رقم دفع جديد أو سحب الطلب من شاشة الاستعلام."
    )
    response = await platform.act(number, subject, "new-bill")
    assert response.status_code == 200, response.text
    second = await platform.bill(number, subject, reference=f"licensing:{number}:fee-2")
    assert second["e_payment_number"] != first["e_payment_number"]
    await platform.sms(number, "payments.bill.issued.v1", count=2)
    await platform.pay(second["e_payment_number"], second["amount_fils"])
    await platform.sms(number, "licensing.licence.issued.v1")
    assert (await platform.request(number))["status"] == "licensed"


async def test_withdrawing_an_approved_request_withdraws_its_bill(platform: Platform) -> None:
    number, subject = await platform.submitted()
    await platform.to_committee(number)
    assert (await platform.decide(number, "approved")).status_code == 200
    bill = await platform.bill(number, subject)

    response = await platform.act(number, subject, "withdraw")

    assert response.status_code == 200, response.text
    text = await platform.sms(number, "licensing.request.withdrawn.v1")
    assert text == f"أمانة عمّان الكبرى: سُحب طلب الرخصة {number} بناءً على طلبكم."

    async def bill_cancelled() -> bool:
        bills = await platform.bills(number, subject)
        return bills[0]["status"] == "cancelled"

    await eventually(bill_cancelled, message="the bill is withdrawn")
    assert bill["e_payment_number"]
    assert (await platform.request(number))["status"] == "withdrawn"
    again = await platform.act(number, subject, "withdraw")
    assert again.status_code == 409
