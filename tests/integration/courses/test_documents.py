"""The enrolment confirmation end to end: courses, payments and the notifier as real processes.

The confirmation is issued when the booking is confirmed (a paid course's fee paid, 7.4; a free
course's approval, 6.1) and issued again when the course gets a new date. What the citizen gets
is checked with tools written by others (`tests/integration/document_checks.py`): the PDF's text
as Debian's `pdftotext` extracts it, the QR code as `zxing-cpp` reads it off the page rendered
by `pdftoppm` (kept as a PNG under `.local/artifacts/documents/`), and the public verification
page and its JSON twin.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.common.formatting import amman_date, amman_time
from tests.integration.courses.conftest import Platform
from tests.integration.document_checks import (
    call,
    documents_of,
    extracted,
    page_png,
    page_state,
    pdf_text,
    qr_texts,
    verified,
)
from tests.integration.platform import recording

pytestmark = pytest.mark.integration

FEE = 30_000
ISSUED = "courses.document.issued.v1"
KIND = "enrolment_confirmation"
HOLDER = "ليلى أحمد"


async def downloaded(platform: Platform, document: dict[str, Any], token: str, path: Path) -> str:
    """The PDF as its holder downloads it (its digest is the record's): its text, extracted."""
    response = await call(platform.courses.url, "GET", document["pdf_url"], token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(response.content).hexdigest() == document["sha256"]
    await asyncio.to_thread(path.write_bytes, response.content)
    return extracted(pdf_text(path))


def issued_of(seen: Any, number: str) -> list[dict[str, Any]]:
    events = [json.loads(body) for key, body in seen.events if key == ISSUED]
    return [event["data"] for event in events if event["data"]["number"] == number]


async def test_7_4_the_fee_paid_issues_the_confirmation_and_a_new_date_replaces_it(
    platform: Platform, tmp_path: Path
) -> None:
    url = platform.courses.url
    assert platform.connection is not None
    async with recording(platform.connection, ISSUED) as seen:
        code = await platform.open_course(minimum=1, fee_fils=FEE)
        course = await platform.course(code)
        number, subject, _ = await platform.enrolled(code)
        owner = platform.token(subject)
        bill = await platform.bill(number, subject)
        await platform.pay(bill["e_payment_number"], FEE)
        await platform.sms(number, "courses.request.paid.v1")

        [first] = await documents_of(url, owner, 1)
        assert (first["kind"], first["number"], first["version"]) == (KIND, number, 1)
        assert (first["state"], first["holder"]) == ("valid", HOLDER)

        # The PDF: the exact Arabic and English strings, in logical order.
        text = await downloaded(platform, first, owner, tmp_path / "v1.pdf")
        starts = amman_time(datetime.fromisoformat(course["starts_at"]))
        for expected in [
            "أمانة عمّان الكبرى",
            "Greater Amman Municipality",
            "تأكيد التسجيل في دورة",
            "Course enrolment confirmation",
            "رقم الوثيقة",
            number,
            HOLDER,
            "الدورة",
            "أساسيات البرمجة بلغة بايثون",
            "Python programming basics",
            "موعد البدء",
            starts,
            "المواعيد",
            "Sun and Tue 5-7 pm",
            "المكان",
            "Knowledge Station, Marka",
            "الرسوم المدفوعة",
            "30.000 JOD",
            "تاريخ الإصدار",
            amman_date(platform.now()),
            first["verification_url"],
        ]:
            assert extracted(expected) in text, f"{expected!r} not in the PDF's text: {text!r}"
        assert extracted(HOLDER[::-1]) not in text
        # The page shows `الأحد والثلاثاء 5-7 مساءً` and `المحطة المعرفية - ماركا` as written
        # (looked at); poppler, reading these lines that mix both scripts, turns `5-7` round and
        # splits the Arabic at the hyphen. Their words are there; the free course's test below
        # checks each value whole with texts poppler reads back exactly.
        for words in ["الأحد والثلاثاء", "مساءً", "المحطة المعرفية", "ماركا"]:
            assert extracted(words) in text, f"{words!r} not in the PDF's text: {text!r}"
        applicant = (await platform.request(number))["applicant"]
        assert extracted(applicant["national_id"]) not in text, "no more personal data than needed"

        # The QR code read off the page is the verification address.
        png = page_png(tmp_path / "v1.pdf", "enrolment_confirmation-paid-v1")
        assert qr_texts(png) == [first["verification_url"]]

        # The public page and its twin, without login: valid, the holder masked.
        assert await page_state(url, first) == "valid"
        twin = await verified(url, first)
        assert (twin["state"], twin["holder"], twin["number"]) == ("valid", "ليلى أ.", number)

        # The holder and staff read it; another citizen, and the testing system, get 404.
        other = platform.token("citizen-someone-else")
        tester = platform.token("testing-system", "courses.placement_tester")
        for path in [f"/v1/documents/{first['id']}", first["pdf_url"]]:
            assert (await call(url, "GET", path, owner)).status_code == 200
            assert (await call(url, "GET", path, platform.staff)).status_code == 200
            assert (await call(url, "GET", path, platform.admin)).status_code == 200
            assert (await call(url, "GET", path, other)).status_code == 404
            assert (await call(url, "GET", path, tester)).status_code == 404
        by_staff = await call(
            url, "GET", "/v1/documents", platform.staff, params={"number": number}
        )
        assert by_staff.json()["total"] == 1
        by_other = await call(url, "GET", "/v1/documents", other, params={"number": number})
        assert by_other.json()["total"] == 0

        # The staff give the course a new date: the participant is told, and a new version of
        # the confirmation shows it; the first one says it was replaced.
        new_start = datetime.fromisoformat(course["starts_at"]) + timedelta(days=7)
        moved = await platform.call(
            "POST", f"/v1/courses/{code}/reschedule", platform.admin,
            {"starts_at": new_start.isoformat(), "reason": "القاعة غير متاحة"},
        )  # fmt: skip
        assert moved.status_code == 200, moved.text
        await platform.sms(number, "courses.request.rescheduled.v1")
        second, again = await documents_of(url, owner, 2)
        assert again["id"] == first["id"]
        assert (second["version"], second["state"]) == (2, "valid")
        text = await downloaded(platform, second, owner, tmp_path / "v2.pdf")
        assert extracted(amman_time(new_start)) in text and extracted(starts) not in text
        assert extracted("30.000 JOD") in text
        png = page_png(tmp_path / "v2.pdf", "enrolment_confirmation-paid-v2")
        assert qr_texts(png) == [second["verification_url"]]
        assert await page_state(url, first) == "replaced"
        assert (await verified(url, first))["replaced_by_version"] == 2
        assert await page_state(url, second) == "valid"

        # One event per version, each once.
        async def both() -> list[dict[str, Any]] | None:
            found = issued_of(seen, number)
            return found if len(found) >= 2 else None

        events = await platform.eventually(both, message="the two issued events")
        assert sorted(event["version"] for event in events) == [1, 2]
        assert HOLDER not in json.dumps(events, ensure_ascii=False)


async def test_6_1_a_free_course_approved_issues_the_confirmation_without_a_fee(
    platform: Platform, tmp_path: Path
) -> None:
    body = platform.course_body(minimum=1)
    body["title"] = {"ar": "مهارات التصوير الرقمي", "en": "Digital photography skills"}
    body["schedule"] = {"ar": "كل سبت من الرابعة حتى السادسة", "en": "Saturdays 4-6 pm"}
    body["place"] = {"ar": "المحطة المعرفية في ماركا", "en": "Marka Knowledge Station"}
    created = await platform.call("POST", "/v1/courses", platform.admin, body)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    published = await platform.call("POST", f"/v1/courses/{code}/publish", platform.admin)
    assert published.status_code == 200, published.text
    number, subject, _ = await platform.enrolled(code)
    owner = platform.token(subject)
    await platform.sms(number, "courses.request.approved.v1")

    [document] = await documents_of(platform.courses.url, owner, 1)

    assert (document["number"], document["version"], document["state"]) == (number, 1, "valid")
    text = await downloaded(platform, document, owner, tmp_path / "free.pdf")
    starts = amman_time(datetime.fromisoformat(body["starts_at"]))
    for expected in [
        "تأكيد التسجيل في دورة",
        "Course enrolment confirmation",
        number,
        HOLDER,
        "مهارات التصوير الرقمي",
        "Digital photography skills",
        starts,
        "كل سبت من الرابعة حتى السادسة",
        "Saturdays 4-6 pm",
        "المحطة المعرفية في ماركا",
        "Marka Knowledge Station",
        amman_date(platform.now()),
    ]:
        assert extracted(expected) in text, f"{expected!r} not in the PDF's text: {text!r}"
    assert extracted("الرسوم المدفوعة") not in text and "JOD" not in text
    png = page_png(tmp_path / "free.pdf", "enrolment_confirmation-free-v1")
    assert qr_texts(png) == [document["verification_url"]]
    assert (await verified(platform.courses.url, document))["state"] == "valid"
