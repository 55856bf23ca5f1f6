"""The receipt of a paid bill (issue #17), through the real service: a bill requested as a
requesting service does, paid by the provider's signed notification, and its receipt issued with
the payment. What the payer gets is read with tools written by others (`pdftotext`, `pdftoppm`,
`zxing-cpp`: `tests/integration/document_checks.py`); the page is kept as
`.local/artifacts/documents/payment_receipt-v1.png` for a person to look at."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from contracts import Applicant
from services.common.formatting import amman_date, amman_time
from tests.integration.conftest import eventually
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
from tests.integration.payments.conftest import publish, refund_requested, settle

pytestmark = pytest.mark.integration

ISSUED = "payments.document.issued.v1"
REVOKED = "payments.document.revoked.v1"
PAYER = Applicant(name="ليلى أحمد الحداد", phone="+962791234567", lang="ar")


def document_events(published: Any, key: str, number: str) -> list[dict[str, Any]]:
    return [data for k, data in published.events if k == key and data.get("number") == number]


async def test_a_paid_bill_has_one_bilingual_receipt_its_qr_and_page_verify_it(
    payments: Any,
    provider: Any,
    request_payment: Any,
    published: Any,
    amqp: Any,
    token_for: Any,
    tmp_path: Path,
) -> None:
    subject = f"citizen-{uuid.uuid4().hex[:8]}"
    owner = token_for(subject, "citizen")
    event, issued = await request_payment(owner=subject, payer=PAYER)
    number = issued["e_payment_number"]
    url = payments.url

    # Nothing before the payment.
    bill = (await payments.get(f"/v1/bills/{number}", owner)).json()
    assert bill["receipt"] is None
    transaction = f"TRX{uuid.uuid4().int % 10**10:010d}"
    notification = provider.notification(number, transaction_id=transaction)
    paid = await provider.call("/payment-notifications", notification)
    assert paid.status_code == 200, paid.text

    # The owner's list has the receipt; the bill names it and its verification page.
    [document] = await documents_of(url, owner, 1)
    bill = (await payments.get(f"/v1/bills/{number}", owner)).json()
    assert bill["status"] == "paid"
    assert (document["kind"], document["number"]) == ("payment_receipt", number)
    assert (document["version"], document["state"]) == (1, "valid")
    assert document["id"] == bill["receipt"]["document_id"]
    assert document["pdf_url"] == bill["receipt"]["pdf_url"]
    assert document["pdf_url"] == f"/v1/documents/{document['id']}/pdf"
    assert document["verification_url"] == bill["receipt"]["verification_url"]
    assert document["verification_url"].startswith(url + "/v1/verify/")
    assert document["holder"] == PAYER.name

    # The PDF as issued (its digest is the record's), to the owner.
    response = await call(url, "GET", document["pdf_url"], owner)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(response.content).hexdigest() == document["sha256"]
    path = tmp_path / "receipt.pdf"
    path.write_bytes(response.content)

    # Its text as poppler extracts it, line by line: Arabic in logical order, English, the
    # e-payment number, what it was for in both languages, the amount with three decimals, the
    # dates dd/mm/yyyy (Amman) and the provider's transaction id.
    text = extracted(pdf_text(path))
    paid_at = datetime.fromisoformat(bill["payment"]["paid_at"])
    issued_on = amman_date(datetime.fromisoformat(bill["closed_at"]))
    for expected in [
        "أمانة عمّان الكبرى",
        "Greater Amman Municipality",
        "إيصال دفع",
        "Payment receipt",
        "رقم الوثيقة",
        number,
        "صاحب الوثيقة",
        PAYER.name,
        "البيان",
        "Paid for",
        # The page shows `رسوم امتحان تجريبي / Trial exam fee` read from the right (looked
        # at); poppler reads the line's neutral `/` between the two scripts last: the two
        # texts are checked whole, in that order, without it.
        "رسوم امتحان تجريبي" + "Trial exam fee",
        "المبلغ المدفوع",
        "Amount paid",
        "25.000 JOD",
        "تاريخ الدفع",
        "Paid on",
        amman_time(paid_at),
        "رقم الحركة في إي فواتيركم",
        "eFAWATEERcom transaction",
        transaction,
        "تاريخ الإصدار",
        issued_on,
        "To verify this document, scan the code or open the address below.",
        document["verification_url"],
    ]:
        assert extracted(expected) in text, f"{expected!r} not in the PDF's text: {text!r}"
    # Checks that can fail: the Arabic reversed (visual order) is not what it says; nothing a
    # receipt does not need (the payer's phone, the bank's transaction id); no expiry.
    assert extracted(PAYER.name[::-1]) not in text
    assert extracted("رسوم امتحان تجريبي"[::-1]) not in text
    assert extracted(PAYER.phone) not in text and extracted("0791234567") not in text
    assert extracted(bill["payment"]["bank_transaction_id"]) not in text
    assert extracted("صالحة حتى") not in text
    # One A4 page: what pdftotext read above is the whole document.
    info = await asyncio.to_thread(
        subprocess.run, ["pdfinfo", str(path)], capture_output=True, check=True, text=True
    )
    assert "Pages:           1" in info.stdout, info.stdout

    # The QR code, read off the rendered page, is the verification address.
    png = page_png(path, "payment_receipt-v1")
    assert qr_texts(png) == [document["verification_url"]]

    # The public page and its JSON twin, without login: valid, the payer masked.
    assert await page_state(url, document) == "valid"
    twin = await verified(url, document)
    assert (twin["state"], twin["kind"], twin["number"]) == ("valid", "payment_receipt", number)
    assert twin["holder"] == "ليلى أ. ح." and twin["sha256"] == document["sha256"]
    assert twin["issued"] == issued_on and twin["valid_until"] is None
    page = await call(url, "GET", verification_path(document))
    assert "إيصال دفع" in page.text and "Payment receipt" in page.text
    assert PAYER.name not in page.text

    # Finance staff read it; another citizen gets 404, as for a document that does not exist.
    other = token_for(f"citizen-{uuid.uuid4().hex[:8]}", "citizen")
    staff = token_for("fs-1", "finance.staff")
    approver = token_for("fa-1", "finance.approver")
    for path_ in [f"/v1/documents/{document['id']}", document["pdf_url"]]:
        assert (await call(url, "GET", path_, owner)).status_code == 200
        assert (await call(url, "GET", path_, staff)).status_code == 200
        assert (await call(url, "GET", path_, approver)).status_code == 200
        assert (await call(url, "GET", path_, other)).status_code == 404
    listed = await call(url, "GET", "/v1/documents", staff, params={"number": number})
    assert listed.json()["total"] == 1
    listed = await call(url, "GET", "/v1/documents", other, params={"number": number})
    assert listed.json()["total"] == 0

    # One issued event, naming the receipt and not its payer.
    async def issued_events() -> list[dict[str, Any]]:
        return document_events(published, ISSUED, number)

    [issued_event] = await eventually(issued_events, message="the receipt's document event")
    assert (issued_event["kind"], issued_event["version"]) == ("payment_receipt", 1)
    assert issued_event["sha256"] == document["sha256"]
    assert issued_event["verification_url"] == document["verification_url"]
    assert PAYER.name not in json.dumps(issued_event, ensure_ascii=False)

    # The provider repeats its notification (twice at once), and another transaction pays the
    # same bill: the same answer, an already-paid exception, and still one receipt.
    again = await asyncio.gather(
        *(provider.call("/payment-notifications", notification) for _ in range(2))
    )
    assert [r.json() for r in again] == [paid.json()] * 2
    second = await provider.pay(number, trx=f"{transaction}-2")
    assert second.status_code == 409 and second.json()["error_code"] == "already-paid"

    # Refunded in full: a second movement of money, not an undoing of the payment; the
    # receipt stands (the README's decision).
    await publish(amqp, refund_requested(event, amount_fils=25000, needs_approval=False))
    await published.one("payments.refund.approved.v1", event.data["payment_reference"])
    await payments.drained()
    await settle()
    assert await page_state(url, document) == "valid"
    assert len(await documents_of(url, owner, 1)) == 1
    assert document_events(published, ISSUED, number) == [issued_event]
    assert document_events(published, REVOKED, number) == []
    files = payments.database["documents.files"]
    assert await files.count_documents({"metadata.number": number}) == 1
    assert await payments.database["documents"].count_documents({"number": number}) == 1


async def test_a_bill_requested_by_staff_has_a_receipt_only_finance_staff_read(
    payments: Any, provider: Any, request_payment: Any, token_for: Any
) -> None:
    _, issued = await request_payment(owner=None)
    number = issued["e_payment_number"]
    assert (await provider.pay(number)).status_code == 200
    staff = token_for("fs-1", "finance.staff")

    async def receipt() -> dict[str, Any] | None:
        found = await call(payments.url, "GET", "/v1/documents", staff, params={"number": number})
        items: list[dict[str, Any]] = found.json()["items"]
        return items[0] if items else None

    document = await eventually(receipt, message="the receipt issued")
    assert document["state"] == "valid"
    pdf = await call(payments.url, "GET", document["pdf_url"], staff)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    citizen = token_for("citizen-1", "citizen")
    assert (await call(payments.url, "GET", document["pdf_url"], citizen)).status_code == 404
    mine = await call(payments.url, "GET", "/v1/documents", citizen)
    assert number not in [item["number"] for item in mine.json()["items"]]
