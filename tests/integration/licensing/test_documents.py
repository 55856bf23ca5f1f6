"""The professional licence as a PDF (issue #17), through the real services: the request walked
over HTTP to the committee's approval, the fee paid as the bank would, and the licence's PDF
issued with step 9. What the holder gets is read with tools written by others (`pdftotext`,
`pdftoppm`, `zxing-cpp`: `tests/integration/document_checks.py`); the page is kept as
`.local/artifacts/documents/licence-v1.png` for a person to look at."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.formatting import amman_date
from tests.integration.document_checks import (
    call,
    documents_of,
    extracted,
    page_png,
    page_state,
    pdf_text,
    qr_texts,
    verification_path,
    verified,
)
from tests.integration.licensing.conftest import EXTERNAL, Platform

pytestmark = pytest.mark.integration

ISSUED = "licensing.document.issued.v1"
APPLICANT = "محمود خليل"


async def licensed(platform: Platform) -> tuple[str, str]:
    """A new applicant's request walked to its licence: (request number, subject)."""
    number, subject = await platform.submitted()
    await platform.to_committee(number)
    assert (await platform.decide(number, "approved")).status_code == 200
    bill = await platform.bill(number, subject)
    await platform.pay(str(bill["e_payment_number"]), int(bill["amount_fils"]))
    await platform.status_becomes(number, "licensed")
    return number, subject


def issued_events(platform: Platform, licence_number: str) -> list[dict[str, Any]]:
    return [json.loads(body)["data"] for body in platform.published.of(ISSUED, licence_number)]


async def test_the_paid_licence_is_a_bilingual_pdf_its_qr_and_page_verify_it(
    platform: Platform, tmp_path: Path
) -> None:
    number, subject = await licensed(platform)
    owner = platform.token(subject)
    url = platform.licensing.url

    # The inquiry names the PDF and its verification page; the holder's list has it.
    licence = (await platform.request(number, owner))["licence"]
    [document] = await documents_of(url, owner, 1)
    assert (document["kind"], document["number"]) == ("licence", licence["number"])
    assert (document["version"], document["state"]) == (1, "valid")
    assert document["id"] == licence["document_id"]
    assert document["pdf_url"] == licence["pdf_url"] == f"/v1/documents/{document['id']}/pdf"
    assert document["verification_url"] == licence["document_verification_url"]
    assert document["verification_url"].startswith(url + "/v1/verify/")
    assert document["holder"] == APPLICANT

    # The PDF as issued (its digest is the record's), to the holder.
    response = await call(url, "GET", document["pdf_url"], owner)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(response.content).hexdigest() == document["sha256"]
    path = tmp_path / "licence.pdf"
    path.write_bytes(response.content)

    # Its text as poppler extracts it, line by line: Arabic in logical order, English, the
    # numbers, the amount with three decimals and the dates dd/mm/yyyy.
    text = extracted(pdf_text(path))
    issued_on = amman_date(datetime.fromisoformat(licence["issued_at"]))
    last_day = amman_date(datetime.fromisoformat(licence["valid_until"]))
    assert last_day.startswith("31/12/")
    for expected in [
        "أمانة عمّان الكبرى",
        "Greater Amman Municipality",
        "رخصة مهن",
        "Professional licence",
        "رقم الوثيقة",
        licence["number"],
        "صاحب الوثيقة",
        APPLICANT,
        "الاسم التجاري",
        "Trade name",
        "بقالة الأمل",
        "المهنة",
        "Profession",
        "المخيم",
        "مخيم الوحدات (مخيم عمّان الجديد)",
        "المساحة المرخصة",
        "Licensed area",
        "35.5 m²",
        "تاريخ الإصدار",
        issued_on,
        "صالحة حتى",
        last_day,
        "To verify this document, scan the code or open the address below.",
        document["verification_url"],
    ]:
        assert extracted(expected) in text, f"{expected!r} not in the PDF's text: {text!r}"
    # Checks that can fail: the names reversed (visual order) are not what it says; nothing a
    # licence does not need (the phone).
    assert extracted(APPLICANT[::-1]) not in text
    assert extracted("بقالة الأمل"[::-1]) not in text
    request = await platform.request(number)
    assert extracted(request["applicant"]["phone"]) not in text
    # One A4 page: what pdftotext read above is the whole document.
    info = await asyncio.to_thread(
        subprocess.run, ["pdfinfo", str(path)], capture_output=True, check=True, text=True
    )
    assert "Pages:           1" in info.stdout, info.stdout

    # The QR code, read off the rendered page, is the verification address.
    png = page_png(path, "licence-v1")
    assert qr_texts(png) == [document["verification_url"]]

    # The public page and its JSON twin, without login: valid, the holder masked.
    assert await page_state(url, document) == "valid"
    twin = await verified(url, document)
    assert (twin["state"], twin["kind"], twin["number"]) == ("valid", "licence", licence["number"])
    assert twin["holder"] == "محمود خ." and twin["sha256"] == document["sha256"]
    assert (twin["issued"], twin["valid_until"]) == (issued_on, licence["valid_until"][:10])
    page = await call(url, "GET", verification_path(document))
    assert "رخصة مهن" in page.text and "Professional licence" in page.text
    assert APPLICANT not in page.text

    # The licence's own page (the SMS's link) leads to the PDF's verification page.
    async with httpx.AsyncClient(timeout=10) as client:
        shown = await client.get(licence["verification_url"])
        as_json = await client.get(licence["verification_url"], params={"format": "json"})
    assert f'href="{document["verification_url"]}"' in shown.text
    assert as_json.json()["document_verification_url"] == document["verification_url"]

    # Staff of the licence read it; another citizen, or another authority's system, get 404.
    other = platform.token(platform.citizen())
    authority = platform.token("authority:civil_defence", EXTERNAL)
    for path_ in [f"/v1/documents/{document['id']}", document["pdf_url"]]:
        assert (await call(url, "GET", path_, platform.clerk)).status_code == 200
        assert (await call(url, "GET", path_, platform.committee)).status_code == 200
        assert (await call(url, "GET", path_, other)).status_code == 404
        assert (await call(url, "GET", path_, authority)).status_code == 404
    by_number = {"number": licence["number"]}
    listed = await call(url, "GET", "/v1/documents", platform.clerk, params=by_number)
    assert listed.json()["total"] == 1
    listed = await call(url, "GET", "/v1/documents", other, params=by_number)
    assert listed.json()["total"] == 0

    # One issued event, naming the document and not its holder.
    async def published() -> list[dict[str, Any]]:
        return issued_events(platform, licence["number"])

    [event] = await platform.eventually(published, message="the licence's document event")
    assert (event["kind"], event["version"], event["sha256"]) == ("licence", 1, document["sha256"])
    assert event["verification_url"] == document["verification_url"]
    assert APPLICANT not in json.dumps(event, ensure_ascii=False)

    # The payment delivered again, and published again under a new id: still one document,
    # one PDF, one event.
    paid = await platform.published.one("payments.bill.paid.v1", number)
    consumed = await platform.metric("events_consumed_total") + await platform.metric(
        "events_duplicate_total"
    )
    await platform.deliver_again(paid)
    await platform.deliver_again(paid, new_id=True)
    await platform.consumed("licensing.bills", int(consumed) + 2)
    await asyncio.sleep(1.5)  # what a second issue would have stored and published by now
    assert len(await documents_of(url, owner, 1)) == 1
    assert len(issued_events(platform, licence["number"])) == 1
    files = platform.database["documents.files"]
    assert await files.count_documents({"metadata.number": licence["number"]}) == 1
