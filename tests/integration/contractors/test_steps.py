"""Seed 001, steps 1 and 2 as a person does them: the lookup answers the contractor's name only;
a one-time code by SMS to the phone given (wrong, expired, too many tries, too soon again); the
renewal submitted with the right code -> SMS with the request number."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.integration.conftest import eventually
from tests.integration.contractors.conftest import (
    FREE,
    PAID,
    PAID_OLD,
    PREFIX,
    SUSPENDED,
    StartPlatform,
    local,
    random_phone,
)

pytestmark = pytest.mark.integration


async def test_the_lookup_answers_the_name_only_and_never_says_which_field_was_wrong(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform(CONTRACTORS_LOOKUPS_PER_WINDOW="5")
    citizen = platform.citizen("looker")

    found = await platform.call("POST", "/v1/lookups", citizen, PAID)
    assert found.status_code == 200, found.text
    assert found.json() == {
        "contractor_name": {"ar": "مؤسسة النور للمقاولات", "en": "Al-Noor Contracting Est."}
    }
    # Arabic-Indic digits and spaces are read as a person means them.
    typed = {"contractor_number": "c-10234 ", "permit_number": "p-٢٠٢٦-٠١١٢", "permit_year": 2026}
    assert (await platform.call("POST", "/v1/lookups", citizen, typed)).status_code == 200

    answers = []
    for wrong in (
        {**PAID, "contractor_number": "C-30555"},
        {**PAID, "permit_number": "P-2025-0456"},
        {**PAID, "permit_year": 2025},
    ):
        response = await platform.call("POST", "/v1/lookups", citizen, wrong)
        assert response.status_code == 404, response.text
        answers.append({k: v for k, v in response.json().items() if k != "instance"})
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["detail_ar"] == (
        "لا يوجد تصريح مطابق لرقم المقاول ورقم التصريح وسنة التصريح المدخلة."
    )

    # The sixth lookup in the window is refused, with Retry-After.
    limited = await platform.call("POST", "/v1/lookups", citizen, PAID)
    assert limited.status_code == 429, limited.text
    assert int(limited.headers["Retry-After"]) > 0
    # Another citizen is not limited by the first.
    assert (await platform.call("POST", "/v1/lookups", platform.citizen(), FREE)).status_code == 200


async def test_a_code_by_sms_then_the_renewal_with_it_gives_the_request_number_by_sms(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform()
    citizen = platform.citizen()
    phone = random_phone()

    sent = await platform.send_code(citizen, phone)
    assert sent.status_code == 201, sent.text
    assert sent.json()["phone_masked"] == phone[:6] + "*****" + phone[-2:]
    assert sent.json()["attempts_allowed"] == 5
    code = await platform.code_on(phone)
    sms = platform.provider.to(phone)[0].text
    assert sms.startswith(f"أمانة عمّان الكبرى: رمز التحقق الخاص بك هو {code}، وهو صالح حتى")
    # The notifier keeps it masked; the contractors database has only its hash.
    verification = sent.json()["verification_id"]

    wrong = "000000" if code != "000000" else "111111"
    refused = await platform.submit_form(citizen, platform.form(phone, verification, wrong))
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "code"
    assert refused.json()["detail_ar"] == "رمز التحقق غير صحيح؛ المحاولات المتبقية: 4"
    # The code belongs to the phone it was sent to.
    other = await platform.submit_form(citizen, platform.form(random_phone(), verification, code))
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "phone"

    key = "renewal-1"
    body = platform.form(phone, verification, code)
    created = await platform.submit_form(citizen, body, key)
    assert created.status_code == 201, created.text
    request = created.json()
    number = request["request_number"]
    assert number.startswith("CP-") and len(number) == len("CP-2026-000001")
    assert request["status"] == "submitted"
    assert request["phone"] == phone
    assert request["next_step"]["ar"] == "انتظر مراجعة الدائرة؛ يُرسل إليك القرار برسالة نصية."
    assert request["timeline"][0]["label"]["en"] == "Renewal submitted"
    [text] = await platform.sms(number, 1)
    assert text == PREFIX + (
        f"تم استلام طلب تجديد تصريح المقاول رقم P-2026-0112 لسنة 2026، ورقم الطلب {number}. "
        "سيصلكم قرار المراجعة برسالة نصية."
    )
    # The same submission again (a retry) answers the same request; the code is spent.
    again = await platform.submit_form(citizen, body, key)
    assert again.status_code == 201 and again.json()["request_number"] == number
    spent = await platform.submit_form(citizen, body)
    assert spent.status_code in (409, 410), spent.text

    # One open renewal per permit: neither a code nor a second renewal for it.
    second = await platform.send_code(citizen, random_phone())
    assert second.status_code == 409, second.text
    assert second.json()["detail_ar"] == "يوجد طلب تجديد قيد الإجراء لهذا التصريح"
    # Another permit of the same contractor is free.
    assert (await platform.send_code(citizen, random_phone(), PAID_OLD)).status_code == 201
    # A suspended permit is not renewed online.
    suspended = await platform.send_code(citizen, random_phone(), SUSPENDED)
    assert suspended.status_code == 422, suspended.text


async def test_an_expired_code_and_a_code_tried_too_often_are_void(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform()
    citizen = platform.citizen()

    # Expired: five minutes pass.
    phone = random_phone()
    sent = await platform.send_code(citizen, phone)
    code = await platform.code_on(phone)
    await platform.move_clock(platform.now() + timedelta(minutes=5, seconds=1))
    expired = await platform.submit_form(
        citizen, platform.form(phone, sent.json()["verification_id"], code)
    )
    assert expired.status_code == 410, expired.text
    assert expired.json()["errors"][0] == {
        "field": "code",
        "location": "body",
        "message": "The code has expired",
        "message_ar": "انتهت صلاحية الرمز",
        "type": "code_expired",
    }

    # Five wrong codes: the fifth voids it, and the right one no longer works.
    phone = random_phone()
    sent = await platform.send_code(citizen, phone)
    assert sent.status_code == 201, sent.text
    code = await platform.code_on(phone)
    verification = sent.json()["verification_id"]
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        response = await platform.submit_form(citizen, platform.form(phone, verification, wrong))
        assert response.status_code == 422, response.text
        assert (
            response.json()["detail"] == f"The verification code is wrong; {left} attempt(s) left"
        )
    fifth = await platform.submit_form(citizen, platform.form(phone, verification, wrong))
    assert fifth.status_code == 410, fifth.text
    assert fifth.json()["errors"][0]["type"] == "code_void"
    right = await platform.submit_form(citizen, platform.form(phone, verification, code))
    assert right.status_code == 410 and right.json()["errors"][0]["type"] == "code_void"
    # Someone else's code request is not theirs to use.
    stranger = await platform.submit_form(
        platform.citizen("stranger"), platform.form(phone, verification, code)
    )
    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["field"] == "verification_id"


async def test_codes_are_rate_limited_per_phone(start_platform: StartPlatform) -> None:
    platform = await start_platform(CONTRACTORS_OTP_PER_PHONE_PER_HOUR="2")
    citizen = platform.citizen()
    phone = random_phone()
    start = platform.now().replace(minute=0, second=5, microsecond=0) + timedelta(hours=1)
    await platform.move_clock(start)

    assert (await platform.send_code(citizen, phone)).status_code == 201
    too_soon = await platform.send_code(citizen, phone)
    assert too_soon.status_code == 429, too_soon.text
    assert 55 <= int(too_soon.headers["Retry-After"]) <= 60
    assert too_soon.json()["detail_ar"].startswith("أُرسل رمز إلى هذا الهاتف للتو")

    await platform.move_clock(start + timedelta(seconds=61))
    assert (await platform.send_code(citizen, phone, lang="en")).status_code == 201
    english = await platform.code_on(phone, 2)
    assert platform.provider.to(phone)[1].text.startswith(
        f"Greater Amman Municipality: your verification code is {english}, valid until"
    )
    await platform.move_clock(start + timedelta(seconds=122))
    third = await platform.send_code(citizen, phone)
    assert third.status_code == 429, third.text
    assert third.json()["detail"] == "At most 2 codes per phone per hour"
    # Another phone is not limited; the same phone is again in the next hour.
    assert (await platform.send_code(citizen, random_phone())).status_code == 201
    await platform.move_clock(start + timedelta(hours=1))
    assert (await platform.send_code(citizen, phone)).status_code == 201
    assert local(phone).startswith("07")


async def test_the_code_is_never_stored_or_logged_in_clear(start_platform: StartPlatform) -> None:
    platform = await start_platform(payments=False, CONTRACTORS_OTP_DIGITS="8")
    citizen = platform.citizen()
    phone = random_phone()
    sent = await platform.send_code(citizen, phone)
    assert sent.status_code == 201, sent.text
    code = await platform.code_on(phone)
    assert len(code) == 8

    async def relayed() -> bool:
        document = await platform.database["verifications"].find_one(
            {"_id": sent.json()["verification_id"]}
        )
        return bool(document) and not document.get("outbox")

    await eventually(relayed, message="the command left the outbox")
    dump = []
    for name in await platform.database.list_collection_names():
        async for document in platform.database[name].find({}):
            dump.append(json.dumps(document, default=str, ensure_ascii=False))
    stored = "\n".join(dump)
    assert '"code_hash"' in stored
    assert code not in stored
    assert code not in platform.contractors.log_text()
    assert phone not in platform.contractors.log_text()
    # The citizen sees the SMS in the notifier too, masked.
    number = await platform.submit_form(
        citizen, platform.form(phone, sent.json()["verification_id"], code)
    )
    assert number.status_code == 201, number.text
