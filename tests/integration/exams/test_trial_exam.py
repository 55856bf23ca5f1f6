"""Seed 004, the trial (commercial) branch, end to end: confirmed -> e-payment number by SMS ->
paid -> SMS "come any time during working hours" -> attendance -> passed, SMS "certificate ready"
-> collected. Exams, payments and the notifier run as real processes."""

from __future__ import annotations

import pytest

from tests.integration.exams.conftest import TRIAL, StartPlatform

pytestmark = pytest.mark.integration

PREFIX = "أمانة عمّان الكبرى: "


async def test_2_trial_exam_from_request_to_certificate(start_platform: StartPlatform) -> None:
    platform = await start_platform()
    citizen = platform.citizen("citizen-trial")

    # 1. Confirmed: the fee is billed, and the e-payment number comes by SMS.
    request = await platform.submit(citizen, exam_code=TRIAL)
    number = request["request_number"]
    assert request["status"] == "awaiting_payment"
    assert request["fee"]["amount_fils"] == 5_000
    assert request["next_step"]["ar"].startswith("ادفع الرسوم (5.000 دينار)")
    (bill_sms,) = await platform.sms(number, 1)
    e_payment_number = await platform.e_payment_number(number)
    assert bill_sms.startswith(
        PREFIX + f"رقم الدفع الإلكتروني للطلب {number} هو {e_payment_number}"
    )
    assert "بمبلغ 5.000 دينار (رسوم امتحان ICDL تجريبي)" in bill_sms

    # 2. Paid, trial exam: come any time during working hours to the Knowledge Station.
    assert (await platform.pay(number)).status_code == 200
    ready = await platform.reaches(number, "ready_to_sit")
    assert ready["fee"]["e_payment_number"] == e_payment_number
    assert ready["next_step"]["en"] == (
        "Come to Knowledge Station, Ras Al-Ain any time during working hours "
        "(Sunday to Thursday 08:30-15:00) to sit the exam."
    )
    assert (await platform.sms(number, 2))[1] == PREFIX + (
        f"تم دفع رسوم الطلب {number} (امتحان ICDL تجريبي). يمكنكم الحضور لعقد الامتحان التجريبي "
        "في أي وقت خلال الدوام الرسمي في المحطة المعرفية - رأس العين."
    )

    # Staff record attendance and the reviewed result; passed: the certificate is ready.
    await platform.act(number, "attendance", {"note": "walked in at 10:15"})
    passed = await platform.act(number, "result", {"outcome": "passed", "score": 92})
    assert passed["status"] == "certificate_ready"
    assert (await platform.sms(number, 3))[2] == PREFIX + (
        f"مبارك نجاحكم في امتحان الطلب {number} (امتحان ICDL تجريبي). الشهادة جاهزة للاستلام من "
        "المحطة المعرفية - رأس العين خلال الدوام الرسمي مع إثبات الشخصية."
    )

    # Collected: the request is complete, and its inquiry tells the whole story.
    await platform.act(number, "collection", {})
    done = await platform.inquiry(number, citizen)
    assert done["status"] == "certificate_collected"
    assert done["status_label"] == {"ar": "تم استلام الشهادة", "en": "Certificate collected"}
    assert done["collected_by"] == "ليلى أحمد الحداد"
    assert done["next_step"] is None and done["deadline"] is None
    assert [(step["action"], step["target"], step["role"]) for step in done["timeline"]] == [
        ("submit", "awaiting_payment", "citizen"),
        ("pay", "ready_to_sit", "system"),
        ("record_attendance", "awaiting_result", "exams.coordinator"),
        ("record_result", "certificate_ready", "exams.coordinator"),
        ("record_collection", "certificate_collected", "exams.coordinator"),
    ]
    assert done["timeline"][2]["label"]["ar"] == "تم عقد الامتحان"
    assert all(step["by"] is None for step in done["timeline"])  # staff ids stay with staff
    assert done["result"] == {
        "outcome": "passed",
        "outcome_label": {"ar": "ناجح", "en": "Passed"},
        "score": 92,
        "recorded_at": done["result"]["recorded_at"],
        "note": None,
    }
    # Exactly three SMS: the e-payment number, "come any time", "certificate ready".
    assert len(await platform.sms(number, 3)) == 3
