"""The renewed permit (issue #17): the PDF a completed renewal gives, through the real services.

Walked over HTTP as the README says: submitted, approved, paid with the payments provider's
notification (or free) -> completed -> the renewed permit is issued once by the shared issuer.
The PDF's text is read with Debian's `pdftotext`, its QR code with `zxing-cpp` off the page
`pdftoppm` rendered (kept under `.local/artifacts/documents/`); the checks are the shared ones
(`tests/integration/document_checks.py`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from services.contractors.domain import AMMAN, amman_date, new_validity
from tests.integration.contractors.conftest import FREE, REGISTRY_CSV, Published, StartPlatform
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

pytestmark = pytest.mark.integration

ISSUED = "contractors.document.issued.v1"
REVOKED = "contractors.document.revoked.v1"
KIND = "renewed_permit"


def dmy(day: date | str) -> str:
    return (date.fromisoformat(day) if isinstance(day, str) else day).strftime("%d/%m/%Y")


async def test_a_paid_renewal_gives_the_renewed_permit_once_to_its_owner_and_staff(
    start_platform: StartPlatform, published: Published, tmp_path: Path
) -> None:
    platform = await start_platform()
    owner, other = platform.citizen("permit-owner"), platform.citizen("someone-else")
    number = (await platform.renewal(owner))["request_number"]
    await platform.decide(number, "approval")
    paid = await platform.pay(number)
    assert paid.status_code == 200, paid.text
    completed = await platform.reaches(number, "completed")
    start, end = new_validity(date(2026, 12, 31), amman_date(platform.now()))
    assert completed["valid_to"] == end.isoformat()

    url = platform.contractors.url
    [document] = await documents_of(url, owner, 1)
    assert (document["kind"], document["number"], document["version"]) == (
        KIND,
        "P-2026-0112/2026",
        1,
    )
    assert (document["state"], document["valid_until"]) == ("valid", end.isoformat())

    # The PDF, as issued, to its owner; the reviewer and the registrar too; nobody else.
    response = await call(url, "GET", document["pdf_url"], owner)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(response.content).hexdigest() == document["sha256"]
    pdf = tmp_path / "renewed_permit.pdf"
    pdf.write_bytes(response.content)
    for path in [f"/v1/documents/{document['id']}", document["pdf_url"]]:
        assert (await call(url, "GET", path, other)).status_code == 404
        assert (await call(url, "GET", path, platform.reviewer())).status_code == 200
        assert (await call(url, "GET", path, platform.registrar())).status_code == 200
    assert (await call(url, "GET", "/v1/documents", other)).json()["total"] == 0
    by_number = await call(
        url, "GET", "/v1/documents", platform.reviewer(), params={"number": document["number"]}
    )
    assert [item["id"] for item in by_number.json()["items"]] == [document["id"]]

    # Its text, as poppler extracts it, line by line: Arabic in logical order, Latin, digits.
    text = extracted(pdf_text(pdf))
    for expected in [
        "أمانة عمّان الكبرى",
        "Greater Amman Municipality",
        "تصريح مقاول مجدد",
        "Renewed contractor permit",
        "P-2026-0112/2026",
        "مؤسسة النور للمقاولات",
        "رقم المقاول",
        "Contractor number",
        "C-10234",
        "Valid until",
        "صالحة حتى",
        "P-2026-0112",
        "ساري المفعول من",
        dmy(start),
        dmy(end),
        f"تم تجديد تصريح المقاول رقم P-2026-0112 وهو ساري المفعول من {dmy(start)} حتى {dmy(end)}",
        "رقم طلب التجديد",
        number,
        "رسم التجديد المدفوع",
        "100.000 JOD",
        "To verify this document, scan the code or open the address below.",
        document["verification_url"],
    ]:
        assert extracted(expected) in text, f"{expected!r} not in the PDF's text: {text!r}"
    # A check that can fail: the contractor's name in visual (reversed) order is not there.
    assert extracted("مؤسسة النور للمقاولات"[::-1]) not in text

    # The QR code read off the page is the verification address; the page says valid, and shows
    # the contractor's name whole (a business, not a person).
    png = page_png(pdf, "renewed_permit-v1")
    assert qr_texts(png) == [document["verification_url"]]
    assert await page_state(url, document) == "valid"
    twin = await verified(url, document)
    assert (twin["state"], twin["number"], twin["holder"]) == (
        "valid",
        "P-2026-0112/2026",
        "مؤسسة النور للمقاولات",
    )
    assert twin["sha256"] == document["sha256"]

    # One issued event; the payment delivered again (and under a new id) issues nothing more.
    async def issued() -> list[bytes]:
        return published.of(ISSUED, document["number"])

    [event] = await platform.eventually(issued, message="the issued event")
    data = json.loads(event)["data"]
    assert (data["kind"], data["version"], data["valid_until"]) == (KIND, 1, end.isoformat())
    assert "مؤسسة" not in json.dumps(data, ensure_ascii=False)  # no holder on the broker
    bill_paid = await published.one("payments.bill.paid.v1", number)
    await platform.deliver_again(bill_paid)
    await platform.deliver_again(bill_paid, new_id=True)
    await platform.consumed("contractors.payments", 4)  # issued, paid, twice again
    assert len(await documents_of(url, owner, 1)) == 1
    assert await platform.database["documents.files"].count_documents({}) == 1
    assert len(published.of(ISSUED, document["number"])) == 1


async def test_the_permit_expires_its_next_renewal_replaces_it_the_registry_revokes_it(
    start_platform: StartPlatform, published: Published, tmp_path: Path
) -> None:
    platform = await start_platform(payments=False)
    owner = platform.citizen("free-owner")
    url = platform.contractors.url
    first_number = (await platform.renewal(owner, FREE))["request_number"]
    done = await platform.decide(first_number, "approval")
    assert done["status"] == "completed"
    [first] = await documents_of(url, owner, 1)
    assert (first["number"], first["valid_until"]) == ("P-2025-1201/2025", done["valid_to"])
    assert await page_state(url, first) == "valid"
    response = await call(url, "GET", first["pdf_url"], owner)
    pdf = tmp_path / "free.pdf"
    pdf.write_bytes(response.content)
    text = extracted(pdf_text(pdf))
    for expected in ["مؤسسة الصيانة الحديثة", "0.000 JOD", first_number]:
        assert extracted(expected) in text, f"{expected!r} not in the PDF's text: {text!r}"

    # The day after its last valid day (Amman), the page says expired.
    last_day = date.fromisoformat(first["valid_until"])
    await platform.move_clock(datetime.combine(last_day + timedelta(days=1), time(9), AMMAN))
    assert await page_state(url, first) == "expired"
    assert (await verified(url, first))["state"] == "expired"

    # Renewed again the next year: a new version of the same document, the first one replaced.
    second_number = (await platform.renewal(owner, FREE))["request_number"]
    again = await platform.decide(second_number, "approval")
    assert again["status"] == "completed"
    second, _ = await documents_of(url, owner, 2)
    assert (second["number"], second["version"]) == ("P-2025-1201/2025", 2)
    assert second["valid_until"] == again["valid_to"]
    assert await page_state(url, second) == "valid"
    assert await page_state(url, first) == "replaced"
    assert (await verified(url, first))["replaced_by_version"] == 2

    async def both_issued() -> list[int] | None:
        events = published.of(ISSUED, "P-2025-1201/2025")
        versions = sorted(json.loads(body)["data"]["version"] for body in events)
        return versions if len(versions) >= 2 else None

    assert await platform.eventually(both_issued, message="two issued events") == [1, 2]
    response = await call(url, "GET", second["pdf_url"], owner)
    pdf = tmp_path / "free-v2.pdf"
    pdf.write_bytes(response.content)
    assert extracted(second_number) in extracted(pdf_text(pdf))
    assert qr_texts(page_png(pdf, "renewed_permit-free-v2")) == [second["verification_url"]]

    # The registrar imports the registry with the permit revoked: the document in force is
    # revoked, with the reason in both languages; the same file again changes nothing.
    revoking = REGISTRY_CSV.replace("2025-06-01,2026-05-31,active", "2025-06-01,2026-05-31,revoked")
    assert revoking != REGISTRY_CSV
    for _ in range(2):
        imported = await platform.call(
            "POST",
            "/v1/registry/imports",
            platform.registrar(),
            content=revoking.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert imported.status_code == 200, imported.text

    async def revoked_page() -> bool:
        return await page_state(url, second) == "revoked"

    await platform.eventually(revoked_page, timeout=30, message="the page says revoked")
    twin = await verified(url, second)
    assert twin["reason_ar"] == "أُلغي التصريح في سجل المقاولين."
    assert await page_state(url, first) == "replaced"

    async def revoked_event() -> list[bytes]:
        return published.of(REVOKED, "P-2025-1201/2025")

    [event] = await platform.eventually(revoked_event, message="the revoked event")
    assert json.loads(event)["data"]["version"] == 2
