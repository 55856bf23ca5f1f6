"""Seed 000, branch by branch, end to end: licensing, payments and the notifier as real processes.

Each test walks one numbered step of the seed (or a branch it is silent on) and asserts the SMS
the applicant received.
"""

from __future__ import annotations

import pytest

from tests.integration.licensing.conftest import GROCERY_FEE, Platform

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
        f"Greater Amman Municipality: your professional licence request {number} was received "
        "and accepted. It is completed within 3 working days; you will get an SMS at each step."
    )
