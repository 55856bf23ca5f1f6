"""The shared document machinery (services/common/documents), through its first user: the test
service's note certificate, run as a real process on the real RabbitMQ and FerretDB.

What a citizen gets is checked with tools written by others: the PDF's text as Debian's
`pdftotext` (poppler) extracts it, its QR code as `zxing-cpp` reads it off the page `pdftoppm`
rendered. Each page is kept as a PNG under `.local/artifacts/documents/` for a person to look at.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from services.common.documents import issue, stage_new_documents
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
    verification_path,
    verified,
)
from tests.integration.helpers import metric
from tests.integration.platform import recording

STAFF = "testsvc.staff"
ISSUED = "testsvc.document.issued.v1"
REVOKED = "testsvc.document.revoked.v1"
HOLDER = "محمد أحمد العلي"


async def new_note(url: str, token: str, text: str) -> str:
    response = await call(
        url,
        "POST",
        "/v1/notes",
        token,
        json={"text": text, "phone": "+962791234567"},
        headers={"Idempotency-Key": f"note-{hashlib.sha256(text.encode()).hexdigest()[:16]}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def ask_certificate(url: str, token: str, note_id: str, **body: Any) -> str:
    response = await call(
        url, "POST", f"/v1/notes/{note_id}/certificate", token, json={"holder": HOLDER, **body}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["number"])


def issued_events(seen: Any, key: str, number: str) -> list[dict[str, Any]]:
    events = [json.loads(body) for routing_key, body in seen.events if routing_key == key]
    return [event["data"] for event in events if event["data"]["number"] == number]


async def test_a_note_certificate_is_a_bilingual_pdf_its_qr_and_page_verify_it(
    start_service: Any, token_for: Any, amqp: Any, mongo: Any, database_name: str, tmp_path: Path
) -> None:
    service = start_service("tests.testsvc")
    await service.wait_ready()
    owner, other = token_for("citizen-doc-1"), token_for("citizen-doc-2")
    staff = token_for("clerk-1", STAFF)
    async with recording(amqp, ISSUED) as seen:
        note_id = await new_note(service.url, owner, "Shoe repair workshop")
        number = await ask_certificate(service.url, owner, note_id, once="step-1")
        [document] = await documents_of(service.url, owner, 1)
        assert (document["number"], document["version"], document["state"]) == (number, 1, "valid")

        # The PDF, as issued: its digest is the record's.
        response = await call(service.url, "GET", document["pdf_url"], owner)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        pdf = response.content
        assert hashlib.sha256(pdf).hexdigest() == document["sha256"]
        path = tmp_path / "certificate.pdf"
        path.write_bytes(pdf)

        # Its text, as poppler extracts it: Arabic in logical order (joined forms map back to
        # their letters), English, digits, the amount with three decimals, dd/mm/yyyy.
        text = extracted(pdf_text(path))
        today = amman_date(datetime.now(UTC))
        for expected in [
            "أمانة عمّان الكبرى",
            "Greater Amman Municipality",
            "شهادة ملاحظة",
            "Note certificate",
            "رقم الوثيقة",
            "Document number",
            number,
            "صاحب الوثيقة",
            HOLDER,
            "Shoe repair workshop",
            "الرسم المدفوع",
            "12.500 JOD",
            f"ملاحظة رقم {number} بمبلغ 12.500 دينار أردني",
            "تاريخ الإصدار",
            today,
            "للتحقق من هذه الوثيقة امسحوا الرمز أو افتحوا الرابط أدناه",
            "ويمكن رفع نسخة منها هناك لمطابقتها مع ما أصدرته الأمانة",
            "To verify this document, scan the code or open the address below.",
            document["verification_url"],
        ]:
            assert extracted(expected) in text, f"{expected!r} not in the PDF's text: {text!r}"
        # A check that can fail: the holder's name reversed (visual order) is not what it says.
        assert extracted(HOLDER[::-1]) not in text

        # The QR code, read off the rendered page, is the verification address.
        png = page_png(path, "note_certificate-v1")
        assert qr_texts(png) == [document["verification_url"]]

        # The public page, without login: bilingual, masked holder, valid; strict CSP.
        page = await call(service.url, "GET", verification_path(document))
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "form-action 'self'" in csp
        assert "script-src" not in csp
        for phrase in ["أمانة عمّان الكبرى", "Greater Amman Municipality", number, "محمد أ. ع."]:
            assert phrase in page.text
        assert HOLDER not in page.text, "the public page masks a person's name"
        twin = await verified(service.url, document)
        assert twin["state"] == "valid" and twin["holder"] == "محمد أ. ع."
        assert (twin["number"], twin["version"], twin["sha256"]) == (number, 1, document["sha256"])
        assert twin["issued"] == today

        # An uploaded copy: the very file matches, a changed one does not, an empty one is a 422.
        for copy, matches in [(pdf, True), (pdf[:-10] + b"0000000000", False)]:
            checked = await call(
                service.url,
                "POST",
                verification_path(document),
                params={"format": "json"},
                files={"file": ("copy.pdf", copy, "application/pdf")},
            )
            assert checked.status_code == 200, checked.text
            assert checked.json()["copy_matches"] is matches
        form = await call(
            service.url,
            "POST",
            verification_path(document),
            files={"file": ("copy.pdf", pdf, "application/pdf")},
        )
        assert 'data-matches="true"' in form.text
        empty = await call(
            service.url, "POST", verification_path(document), files={"file": ("e.pdf", b"")}
        )
        assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "file"

        # Someone else's document is not there for them; staff of the kind may read it.
        for path_ in [f"/v1/documents/{document['id']}", document["pdf_url"]]:
            assert (await call(service.url, "GET", path_, other)).status_code == 404
            assert (await call(service.url, "GET", path_, staff)).status_code == 200
        listed = await call(service.url, "GET", "/v1/documents", other, params={"number": number})
        assert listed.json()["total"] == 0
        listed = await call(service.url, "GET", "/v1/documents", staff, params={"number": number})
        assert listed.json()["total"] == 1
        unknown = await call(service.url, "GET", "/v1/verify/" + "x" * 24)
        assert unknown.status_code == 404
        odd = await call(service.url, "GET", "/v1/documents", staff, params={"number": "N\x00"})
        assert odd.status_code == 422, odd.text

        # One event, with the document's identity and dates and no holder.
        async def one_event() -> list[dict[str, Any]]:
            return issued_events(seen, ISSUED, number)

        [event] = await eventually(one_event, message="the issued event published")

        # The same step staged again (a redelivered event whose guard let it through): nothing.
        await ask_certificate(service.url, owner, note_id, once="step-1")
        notes = mongo[database_name]["notes"]

        async def nothing_due() -> bool:
            note = await notes.find_one({"_id": note_id})
            return note is not None and not note.get("documents_due")

        await eventually(nothing_due, timeout=30, message="the second entry done")
        assert len(await documents_of(service.url, owner, 1)) == 1
        assert await mongo[database_name]["documents.files"].count_documents({}) == 1
        assert event["verification_url"] == document["verification_url"]
        assert event["sha256"] == document["sha256"] and event["state"] == "valid"
        assert HOLDER not in json.dumps(event, ensure_ascii=False)


async def test_the_verification_page_follows_the_document_through_each_state(
    start_service: Any, token_for: Any, amqp: Any, mongo: Any, database_name: str, tmp_path: Path
) -> None:
    # An aggregate whose entry can never be done (a kind the service does not declare) is
    # retried and counted, and holds up no other document.
    now = datetime.now(UTC)
    poison = issue("no_such_kind", "X-1", owner="o", holder="h", rows=[], issued_at=now)
    notes = mongo[database_name]["notes"]
    await notes.insert_one(stage_new_documents({"_id": "poison", "version": 1}, [poison]))
    service = start_service("tests.testsvc")
    await service.wait_ready()
    owner, staff = token_for("citizen-doc-3"), token_for("clerk-2", STAFF)
    async with recording(amqp, REVOKED) as seen:
        note_id = await new_note(service.url, owner, "A note that lapses")
        # Version 1 whose last valid day has passed: expired.
        yesterday = (datetime.now(UTC) - timedelta(days=2)).date()
        number = await ask_certificate(
            service.url, owner, note_id, valid_until=yesterday.isoformat()
        )
        [first] = await documents_of(service.url, owner, 1)
        assert await page_state(service.url, first) == "expired"
        assert (await verified(service.url, first))["state"] == "expired"

        # Re-issued: version 2 is valid, version 1 says it was replaced.
        await ask_certificate(service.url, owner, note_id)
        second, _ = await documents_of(service.url, owner, 2)
        assert second["version"] == 2 and second["verification_url"] != first["verification_url"]
        assert await page_state(service.url, second) == "valid"
        assert await page_state(service.url, first) == "replaced"
        assert (await verified(service.url, first))["replaced_by_version"] == 2

        # Revoked by staff (the citizen may not): the page says so, with the reason.
        refused = await call(
            service.url,
            "POST",
            f"/v1/notes/{note_id}/certificate/revocation",
            owner,
            json={"reason_en": "Issued in error", "reason_ar": "صدرت خطأ"},
        )
        assert refused.status_code == 403
        revoked = await call(
            service.url,
            "POST",
            f"/v1/notes/{note_id}/certificate/revocation",
            staff,
            json={"reason_en": "Issued in error", "reason_ar": "صدرت خطأ"},
        )
        assert revoked.status_code == 202

        async def revoked_page() -> bool:
            return await page_state(service.url, second) == "revoked"

        await eventually(revoked_page, timeout=30, message="the page says revoked")
        twin = await verified(service.url, second)
        assert (twin["reason_en"], twin["reason_ar"]) == ("Issued in error", "صدرت خطأ")
        page = await call(service.url, "GET", verification_path(second))
        assert "صدرت خطأ" in page.text and "Revoked" in page.text
        assert await page_state(service.url, first) == "replaced"

        async def revoked_event() -> list[dict[str, Any]]:
            return issued_events(seen, REVOKED, number)

        [event] = await eventually(revoked_event, message="the revoked event published")
        assert (event["version"], event["state"]) == (2, "revoked")

    assert await metric(service.url, "documents_issue_failures_total", collection="notes") >= 1
    still = await notes.find_one({"_id": "poison"})
    assert still is not None and len(still["documents_due"]) == 1

    # Each version's picture, for a person to look at.
    for document in (first, second):
        response = await call(service.url, "GET", document["pdf_url"], owner)
        path = tmp_path / f"v{document['version']}.pdf"
        path.write_bytes(response.content)
        page_png(path, f"note_certificate-states-v{document['version']}")
    assert date.fromisoformat(first["valid_until"]) == yesterday


async def test_killed_at_each_step_of_an_issue_one_document_is_issued(
    start_service: Any, token_for: Any, amqp: Any, mongo: Any, database_name: str
) -> None:
    """One certificate, three processes: the first dies after storing the PDF (before its
    record), the second redoes it and dies after the record (before clearing the entry), the
    third finds it done. One record, one stored PDF, one event."""
    env = {"SWEEPER_LEASE_SECONDS": "2", "OUTBOX_LEASE_SECONDS": "2"}
    owner = token_for("citizen-doc-4")
    db = mongo[database_name]

    async def state() -> tuple[int, int, int]:
        note = await db["notes"].find_one({"_id": note_id})
        assert note is not None
        due = len(note.get("documents_due") or [])
        records = await db["documents"].count_documents({})
        return records, await db["documents.files"].count_documents({}), due

    async with recording(amqp, ISSUED) as seen:
        first = start_service("tests.testsvc", TESTSVC_DOCUMENT_EXIT="stored", **env)
        await first.wait_ready()
        note_id = await new_note(first.url, owner, "crash at every step")
        number = await ask_certificate(first.url, owner, note_id)
        assert await asyncio.to_thread(first.wait_exit, 60) == 19, first.log_tail()
        assert await state() == (0, 1, 1), "a PDF stored, no record, the entry still due"

        second = start_service("tests.testsvc", TESTSVC_DOCUMENT_EXIT="recorded", **env)
        assert await asyncio.to_thread(second.wait_exit, 60) == 19, second.log_tail()
        assert await state() == (1, 1, 1), "the PDF stored again in place, recorded, still due"
        [record] = [doc async for doc in db["documents"].find({})]

        survivor = start_service("tests.testsvc", **env)
        await survivor.wait_ready()

        async def entry_done() -> bool:
            return await state() == (1, 1, 0)

        await eventually(entry_done, timeout=30, message="the entry done, nothing added")
        [document] = await documents_of(survivor.url, owner, 1)
        assert (document["id"], document["version"]) == (record["_id"], 1)

        async def one_event() -> list[dict[str, Any]]:
            return issued_events(seen, ISSUED, number)

        await eventually(one_event, timeout=30, message="the issued event published")
        await asyncio.sleep(1.5)  # a second event, were there one, would be here by now
        assert len(issued_events(seen, ISSUED, number)) == 1
        pdf = await call(survivor.url, "GET", document["pdf_url"], owner)
        assert hashlib.sha256(pdf.content).hexdigest() == document["sha256"]
        assert (await verified(survivor.url, document))["state"] == "valid"
