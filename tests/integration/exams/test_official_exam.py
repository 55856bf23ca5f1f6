"""Seed 004, the official branch, end to end: two citizens pay for ICDL Documents (a session of
2 in the test catalogue) -> the session reaches its minimum -> a coordinator sets the date agreed
with the granting body -> SMS with the date, the place and the identity documents -> on the day,
attendance -> one passes (SMS: certificate ready; collected), one fails (SMS with the result)."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.formatting import amman_time
from tests.integration.exams.conftest import OFFICIAL, StartPlatform, next_exam_time

pytestmark = pytest.mark.integration

PREFIX = "أمانة عمّان الكبرى: "


async def test_3_official_exam_from_request_to_certificate(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform()
    layla, omar = platform.citizen("citizen-layla"), platform.citizen("citizen-omar")
    first = await platform.submit(layla, exam_code=OFFICIAL)
    second = await platform.submit(
        omar, exam_code=OFFICIAL, applicant_name="Omar Khaled Saleh", lang="en"
    )
    numbers = [first["request_number"], second["request_number"]]
    assert first["fee"]["amount_fils"] == 25_000  # the ICDL subject's fee

    # 3. Paid: each waits for the session; the second payment completes its minimum.
    for number in numbers:
        assert (await platform.pay(number)).status_code == 200
    waiting = [await platform.reaches(number, "awaiting_session") for number in numbers]
    assert (await platform.sms(numbers[0], 2))[1] == PREFIX + (
        f"تم دفع رسوم الطلب {numbers[0]} (ICDL معالجة النصوص). سيُحدد موعد الامتحان خلال أسبوع "
        "عمل من اكتمال الحد الأدنى للمتقدمين (2) ويصلكم برسالة نصية."
    )
    assert (await platform.sms(numbers[1], 2))[1].startswith(
        f"Greater Amman Municipality: the fee for request {numbers[1]} (ICDL Documents) is paid."
    )

    async def seated() -> Any:
        request = await platform.inquiry(numbers[1])
        return request if request["session"] and request["session"]["candidates"] == 2 else None

    session_brief = (await platform.eventually(seated))["session"]
    assert session_brief["status"] == "awaiting_date"
    assert waiting[0]["next_step"]["en"].startswith("Wait for the session to have 2 paid")
    session_number = session_brief["session_number"]
    response = await platform.call(
        "GET", "/v1/sessions", platform.coordinator(), params={"status": "awaiting_date"}
    )
    (session,) = response.json()["items"]
    assert session["session_number"] == session_number
    assert sorted(session["candidates"]) == sorted(numbers)
    assert session["next_step"]["en"].startswith("Agree a date with ICDL Arabia and set it by")

    # The coordinator sets the date agreed with ICDL Arabia: every candidate is told by SMS.
    exam_at = next_exam_time(platform.now())
    response = await platform.call(
        "POST",
        f"/v1/sessions/{session_number}/schedule",
        platform.coordinator(),
        {"exam_at": exam_at.isoformat()},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "scheduled"
    for number in numbers:
        scheduled = await platform.reaches(number, "scheduled")
        assert scheduled["deadline"]["label"]["en"] == "Exam on"
    assert (await platform.sms(numbers[0], 3))[2] == PREFIX + (
        f"موعد امتحان الطلب {numbers[0]} (ICDL معالجة النصوص) في {amman_time(exam_at)} في "
        "المحطة المعرفية - رأس العين. يرجى إحضار البطاقة الشخصية (الهوية) سارية المفعول."
    )
    assert (await platform.sms(numbers[1], 3))[2].endswith(
        "at Knowledge Station, Ras Al-Ain. Please bring your valid Jordanian ID card."
    )

    # On the exam day both sit it; the results are reviewed and recorded.
    await platform.move_clock(exam_at)
    for number in numbers:
        await platform.act(number, "attendance")
    await platform.act(numbers[0], "result", {"outcome": "passed", "score": 90})
    await platform.act(numbers[1], "result", {"outcome": "failed", "score": 45})

    # 4. Passed: the certificate is ready for collection. Failed: told, with the mark.
    assert (await platform.sms(numbers[0], 4))[3] == PREFIX + (
        f"مبارك نجاحكم في امتحان الطلب {numbers[0]} (ICDL معالجة النصوص). الشهادة جاهزة للاستلام "
        "من المحطة المعرفية - رأس العين خلال الدوام الرسمي مع إثبات الشخصية."
    )
    assert (await platform.sms(numbers[1], 4))[3] == (
        "Greater Amman Municipality: we are sorry, you did not pass the exam of request "
        f"{numbers[1]} (ICDL Documents), mark 45 out of 100. You may apply again at www.amman.jo"
    )
    await platform.act(numbers[0], "collection", {"collected_by": "Sami Ahmad (delegate 1187)"})

    done = await platform.inquiry(numbers[0], layla)
    assert done["status"] == "certificate_collected"
    assert done["collected_by"] == "Sami Ahmad (delegate 1187)"
    assert [step["action"] for step in done["timeline"]] == [
        "submit",
        "pay",
        "join_session",
        "schedule",
        "record_attendance",
        "record_result",
        "record_collection",
    ]
    failed = await platform.inquiry(numbers[1], omar)
    assert failed["status"] == "failed"
    assert failed["next_step"]["en"] == "You may submit a new request at www.amman.jo."
    by_staff = await platform.inquiry(numbers[1])
    assert by_staff["timeline"][-1]["by"] == "coordinator-1"
