"""Issue #17 in the exams service, end to end over HTTP: a trial exam paid through payments (the
provider's signed calls), attended, passed. The result slip and the certificate-ready notice
are issued as PDFs; their holder and a coordinator download them, another citizen gets 404;
their text, as Debian's `pdftotext` extracts it, holds the exact Arabic and English strings in
logical order; the QR code `zxing-cpp` reads off the page is the verification address; the
public page and its JSON twin say valid, and the notice's says revoked once the certificate is
collected. Each page is kept under `.local/artifacts/documents/` for a person to look at."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from services.common.formatting import amman_date
from tests.integration.conftest import eventually
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
from tests.integration.exams.conftest import TRIAL, Published, StartPlatform

pytestmark = pytest.mark.integration

ISSUED = "exams.document.issued.v1"
REVOKED = "exams.document.revoked.v1"
CANDIDATE = "ليلى أحمد الحداد"
HEADER = [
    "أمانة عمّان الكبرى",
    "Greater Amman Municipality",
    "رقم الوثيقة",
    "Document number",
    "صاحب الوثيقة",
    CANDIDATE,
    "تاريخ الإصدار",
]


async def read_pdf(url: str, document: dict[str, Any], token: str, into: Path) -> str:
    """Download the document's PDF as `token`; check it is the one issued; return its text."""
    response = await call(url, "GET", document["pdf_url"], token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(response.content).hexdigest() == document["sha256"]
    return page_checked(response.content, document, into)


def page_checked(pdf: bytes, document: dict[str, Any], into: Path) -> str:
    """The PDF kept as a PNG artifact, its QR code read off the page; its text, extracted."""
    into.write_bytes(pdf)
    png = page_png(into, f"exams-{document['kind']}-v{document['version']}")
    # The QR code, read off the rendered page, is the verification address.
    assert qr_texts(png) == [document["verification_url"]]
    return extracted(pdf_text(into))


def assert_in(text: str, *expected: str) -> None:
    for phrase in expected:
        assert extracted(phrase) in text, f"{phrase!r} not in the PDF's text: {text!r}"


def events_of(published: Published, key: str, number: str) -> list[dict[str, Any]]:
    return [json.loads(body)["data"] for body in published.of(key, number)]


async def test_the_result_slip_and_the_certificate_notice_are_pdfs_the_candidate_keeps(
    start_platform: StartPlatform, published: Published, tmp_path: Path
) -> None:
    platform = await start_platform(notifier=False)
    url = platform.exams.url
    citizen, other = platform.citizen("citizen-docs"), platform.citizen("citizen-docs-other")
    coordinator = platform.coordinator()

    # Confirmed and paid as the bank pays: the e-payment number from the inquiry.
    number = (await platform.submit(citizen, exam_code=TRIAL))["request_number"]

    async def e_payment_number() -> str | None:
        bill = (await platform.inquiry(number, citizen)).get("pending_bill")
        return bill["e_payment_number"] if bill else None

    paying = await eventually(e_payment_number, message="the bill's e-payment number")
    assert (await platform.pay_as_provider(paying)).status_code == 200
    await platform.reaches(number, "ready_to_sit")
    await platform.act(number, "attendance", {})
    assert (await platform.act(number, "result", {"outcome": "passed", "score": 92}))[
        "status"
    ] == "certificate_ready"
    today = amman_date(platform.now())

    # Both documents are the citizen's, under the request's number.
    notice, slip = await documents_of(url, citizen, 2)
    if notice["kind"] != "certificate_notice":
        notice, slip = slip, notice
    assert (slip["kind"], notice["kind"]) == ("exam_result_slip", "certificate_notice")
    for document in (slip, notice):
        assert (document["number"], document["version"], document["state"]) == (number, 1, "valid")

    # The result slip: title, number, the candidate, the exam, the result with its score and
    # the exam's date, in both languages, each in logical order.
    text = await read_pdf(url, slip, citizen, tmp_path / "slip.pdf")
    assert_in(
        text,
        *HEADER,
        "بيان نتيجة امتحان",
        "Exam result slip",
        number,
        "امتحان ICDL تجريبي",
        "ICDL practice test",
        f"ناجح بعلامة 92 من 100 في الامتحان المعقود بتاريخ {today}",
        f"Passed, with a score of 92 out of 100, in the exam held on {today}",
        slip["verification_url"],
    )
    assert extracted(CANDIDATE[::-1]) not in text  # a check that can fail: visual order

    # The notice: where, when and with what to collect the certificate. (Poppler reads the
    # Arabic line's hours, `8:30-15:00` between Arabic words, in visual order: checked in the
    # English sentence.)
    text = await read_pdf(url, notice, citizen, tmp_path / "notice.pdf")
    assert_in(
        text,
        *HEADER,
        "إشعار بجاهزية الشهادة للاستلام",
        "Notice: certificate ready for collection",
        number,
        "شهادة امتحان ICDL تجريبي جاهزة للاستلام من المحطة المعرفية - رأس العين "
        "خلال الدوام الرسمي، الأحد إلى الخميس",
        "مع إحضار البطاقة الشخصية (الهوية) سارية المفعول",
        "The certificate for ICDL practice test is ready for collection from Knowledge "
        "Station, Ras Al-Ain during working hours, Sunday to Thursday 08:30-15:00; bring your "
        "valid Jordanian ID card",
        today,
    )

    # A coordinator reads them too, and finds them by the request's number; no one else does.
    for document in (slip, notice):
        for path in (f"/v1/documents/{document['id']}", document["pdf_url"]):
            assert (await call(url, "GET", path, coordinator)).status_code == 200
            assert (await call(url, "GET", path, other)).status_code == 404
    listed = await call(url, "GET", "/v1/documents", coordinator, params={"number": number})
    assert listed.json()["total"] == 2
    assert (await call(url, "GET", "/v1/documents", other)).json()["total"] == 0

    # The public pages, without login: valid, the candidate's name masked.
    for document in (slip, notice):
        assert await page_state(url, document) == "valid"
        twin = await verified(url, document)
        assert (twin["state"], twin["holder"], twin["issued"]) == ("valid", "ليلى أ. ح.", today)

    # One issued event for each, naming no one.
    async def issued() -> list[dict[str, Any]] | None:
        found = events_of(published, ISSUED, number)
        return found if len(found) == 2 else None

    events = await eventually(issued, message="both documents' issued events")
    assert sorted(event["kind"] for event in events) == ["certificate_notice", "exam_result_slip"]
    assert all(CANDIDATE not in json.dumps(event, ensure_ascii=False) for event in events)

    # Collected: the notice has done its job and says so; the slip stays valid.
    await platform.act(number, "collection", {})

    async def notice_revoked() -> bool:
        return await page_state(url, notice) == "revoked"

    await eventually(notice_revoked, timeout=30, message="the notice's page says revoked")
    twin = await verified(url, notice)
    assert twin["reason_en"] == (
        f"The certificate was collected on {today}; this notice has done its job."
    )
    assert twin["reason_ar"] == f"استُلمت الشهادة بتاريخ {today}، فانتهى الغرض من هذا الإشعار."
    assert await page_state(url, slip) == "valid"
    revoked = json.loads(await published.one(REVOKED, number))["data"]
    assert (revoked["kind"], revoked["version"]) == ("certificate_notice", 1)
    # Each went out once (the outbox publishes once; a second would be a duplicate).
    assert len(events_of(published, ISSUED, number)) == 2
    assert len(events_of(published, REVOKED, number)) == 1
