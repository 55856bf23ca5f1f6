"""Seed 003, steps 6, 7, 9, 10 (free): submission, attachment errors, rejection, free approval."""

from __future__ import annotations

import pytest

from services.common.formatting import amman_date
from tests.integration.training.conftest import PNG, Platform

pytestmark = pytest.mark.integration


async def test_1_submitted_request_is_initially_accepted_with_its_number(
    platform: Platform,
) -> None:
    number, subject, _applicant = await platform.submitted(platform.student_form())

    text = await platform.sms(number, "training.request.submitted.v1")

    assert number.startswith("TR-") and len(number) == len("TR-2026-000001")
    assert text == (
        f"أمانة عمّان الكبرى: تم قبول طلبكم للتدريب مبدئياً، ورقم الطلب {number}. "
        "يمكنكم متابعته من شاشة الاستعلام عن الطلب على www.amman.jo"
    )
    mine = await platform.request(number, platform.token(subject))
    assert mine["status"] == "under_review"
    assert mine["fee_fils"] == 0
    assert mine["attachment"]["kind"] == "official_letter"
    assert mine["next_step"]["ar"].startswith("انتظر قرار الدائرة")
    assert mine["timeline"][0]["by"] == "applicant"


def _amman(instant: str) -> str:
    from datetime import datetime

    from services.notifier.domain import amman_time

    return amman_time(datetime.fromisoformat(instant))


async def test_2_attachments_corrected_in_time_go_back_to_review(platform: Platform) -> None:
    number, subject, _ = await platform.submitted(platform.student_form())
    citizen = platform.token(subject)
    note = {"ar": "الكتاب غير مختوم", "en": "the letter is not stamped"}

    flagged = await platform.act(number, "attachment-error", platform.reviewer, {"note": note})

    text = await platform.sms(number, "training.request.attachments_rejected.v1")
    due = flagged["deadline"]
    assert flagged["status"] == "awaiting_correction"
    assert text == (
        f"أمانة عمّان الكبرى: يرجى تصويب مرفقات الطلب {number} (الكتاب غير مختوم) خلال 3 أيام "
        f"عمل قبل {_amman(due)} من شاشة الاستعلام على www.amman.jo وإلا يُلغى الطلب."
    )
    corrected = await platform.upload(number, citizen, PNG, "image/png")
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["status"] == "under_review"
    assert corrected.json()["attachment"]["content_type"] == "image/png"
    downloaded = await platform.call("GET", f"/v1/requests/{number}/attachment", citizen)
    assert downloaded.status_code == 200 and downloaded.content == PNG
    again = await platform.upload(number, citizen, PNG, "image/png")
    assert again.status_code == 409
    approved = await platform.approve(number)
    assert approved["status"] == "approved"


async def test_2_attachments_not_corrected_in_time_cancel_the_request(
    platform: Platform,
) -> None:
    number, subject, _ = await platform.submitted(platform.student_form(), lang="en")
    note = {"ar": "الشهادة غير واضحة", "en": "the certificate is not legible"}
    flagged = await platform.act(number, "attachment-error", platform.reviewer, {"note": note})
    english = await platform.sms(number, "training.request.attachments_rejected.v1")
    assert english == (
        f"Greater Amman Municipality: please correct the attachments of request {number} "
        "(the certificate is not legible) within 3 working days, before "
        f"{_amman(flagged['deadline'])} (Amman time), on the inquiry screen at www.amman.jo, "
        "or the request is cancelled."
    )
    from datetime import datetime, timedelta

    await platform.move_clock(datetime.fromisoformat(flagged["deadline"]) + timedelta(minutes=1))

    text = await platform.sms(number, "training.request.cancelled.v1")

    assert text == (
        f"Greater Amman Municipality: request {number} is cancelled: the attachments were not "
        "corrected in time."
    )
    found = await platform.status_becomes(number, "cancelled")
    assert found["cancel_reason"]["ar"] == "لم تُصوَّب المرفقات خلال المدة المحددة"
    late = await platform.upload(number, platform.token(subject), PNG, "image/png")
    assert late.status_code == 409


async def test_4_rejected_request_gets_the_reasons(platform: Platform) -> None:
    number, subject, _ = await platform.submitted(platform.mission_form())
    reasons = {
        "ar": "البيانات المطلوبة للدراسة سرية",
        "en": "the data the study needs is confidential",
    }

    rejected = await platform.act(number, "reject", platform.reviewer, {"reasons": reasons})

    assert rejected["status"] == "rejected"
    text = await platform.sms(number, "training.request.rejected.v1")
    assert text == (
        f"أمانة عمّان الكبرى: نعتذر، لم تتم الموافقة على طلبكم {number}. "
        "المبررات: البيانات المطلوبة للدراسة سرية."
    )
    mine = await platform.request(number, platform.token(subject))
    assert mine["rejection_reasons"] == reasons
    assert mine["approval_letter"] is None
    letter = await platform.call(
        "GET", f"/v1/requests/{number}/approval-letter", platform.token(subject)
    )
    assert letter.status_code == 404


async def test_5_free_student_training_is_approved_and_the_letter_issued(
    platform: Platform,
) -> None:
    form = platform.student_form()
    number, subject, _ = await platform.submitted(form)

    approved = await platform.approve(number)

    assert approved["status"] == "approved"
    text = await platform.sms(number, "training.request.approved.v1")
    assert text == (
        f"أمانة عمّان الكبرى: تمت الموافقة على طلبكم {number}. يمكنكم طباعة كتاب الموافقة من "
        "شاشة الاستعلام عن الطلب على www.amman.jo. يبدأ التدريب في "
        f"{amman_date(form['start_date'])}."
    )
    assert "payments.bill.issued.v1" not in await platform.templates(number)
    path = f"/v1/requests/{number}/approval-letter"
    mine = await platform.request(number, platform.token(subject))
    assert mine["approval_letter"] == path
    # The letter is a PDF (its text, QR code and page: test_documents.py).
    letter = await platform.letter(path, platform.token(subject))
    assert letter.startswith(b"%PDF-")
    other = await platform.call("GET", path, platform.token("citizen-other"))
    assert other.status_code == 404
    staff = await platform.call("GET", path, platform.reviewer)
    assert staff.status_code == 200
    completion = await platform.call(
        "GET", f"/v1/requests/{number}/completion-letter", platform.token(subject)
    )
    assert completion.status_code == 404
