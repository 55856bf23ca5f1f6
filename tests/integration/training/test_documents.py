"""Training's letters as documents (issue #17), through the real services (training, payments,
the notifier): the approval letter issued at approval (free) or payment (paid), a new version at
a postponement (the first replaced), revoked when an approved training is cancelled; the
completion letter at the end of a training. Each PDF is read with `pdftotext`, its QR code with
`zxing-cpp` off the page `pdftoppm` drew (kept under `.local/artifacts/documents/`), and checked
on the public verification page."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import date, timedelta
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
from tests.integration.platform import recording
from tests.integration.training.conftest import CALENDAR, Platform

pytestmark = pytest.mark.integration

ISSUED = "training.document.issued.v1"
REVOKED = "training.document.revoked.v1"
HOLDER = "سامي خالد"


def events_of(seen: Any, key: str, number: str) -> list[dict[str, Any]]:
    found = [json.loads(body)["data"] for routing_key, body in seen.events if routing_key == key]
    return [data for data in found if data["number"] == number]


def read(pdf: bytes, tmp_path: Path, name: str) -> tuple[str, Path]:
    """The PDF's text as compared (`extracted`, in NFC: poppler gives a shadda and a kasra on
    one letter in the font's order, which is canonically the same text), and its first page as
    a PNG artifact."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return unicodedata.normalize("NFC", extracted(pdf_text(path))), page_png(path, name)


def has_all(text: str, expected: list[str]) -> None:
    for phrase in expected:
        assert unicodedata.normalize("NFC", extracted(phrase)) in text, (
            f"{phrase!r} not in the PDF's text: {text!r}"
        )
    # A check that can fail: the holder's name reversed (visual order) is not what it says.
    assert extracted(HOLDER[::-1]) not in text


async def checked(
    platform: Platform, document: dict[str, Any], owner: str, other: str, route: str
) -> bytes:
    """The document's PDF as its owner downloads it (from the inquiry's route and from
    `/v1/documents`, the same bytes); staff read it too; another citizen gets 404."""
    url = platform.training.url
    pdf = await platform.letter(route, owner)
    assert hashlib.sha256(pdf).hexdigest() == document["sha256"]
    listed = await call(url, "GET", document["pdf_url"], owner)
    assert listed.status_code == 200 and listed.content == pdf
    for path in [f"/v1/documents/{document['id']}", document["pdf_url"], route]:
        assert (await call(url, "GET", path, other)).status_code == 404, path
        assert (await call(url, "GET", path, platform.reviewer)).status_code == 200, path
        assert (await call(url, "GET", path, platform.supervisor)).status_code == 200, path
    number = document["number"]
    by_number = await call(url, "GET", "/v1/documents", other, params={"number": number})
    assert by_number.json()["total"] == 0
    listed = await call(url, "GET", "/v1/documents", platform.reviewer, params={"number": number})
    assert document["id"] in [item["id"] for item in listed.json()["items"]]
    return pdf


async def test_a_free_approval_letter_is_issued_verified_and_revoked_at_a_no_show(
    platform: Platform, tmp_path: Path
) -> None:
    url = platform.training.url
    form = platform.student_form()
    start, end = amman_date(form["start_date"]), amman_date(form["end_date"])
    async with recording(platform.connection, "training.document.#") as seen:
        number, subject, _ = await platform.submitted(form)
        owner, other = platform.token(subject), platform.token("citizen-doc-other")

        await platform.approve(number)

        [document] = await documents_of(url, owner, 1)
        assert (document["kind"], document["number"], document["version"]) == (
            "approval_letter", number, 1
        )  # fmt: skip
        assert document["state"] == "valid" and document["valid_until"] == form["end_date"]
        route = f"/v1/requests/{number}/approval-letter"
        pdf = await checked(platform, document, owner, other, route)
        text, png = read(pdf, tmp_path, "training-approval_letter-free-v1")
        has_all(
            text,
            [
                "أمانة عمّان الكبرى",
                "Greater Amman Municipality",
                "كتاب موافقة",
                "Approval letter",
                "رقم الوثيقة",
                number,
                "صاحب الوثيقة",
                HOLDER,
                "الدائرة",
                "دائرة تكنولوجيا المعلومات",
                "الجهة المنسِّبة",
                "الجامعة الأردنية",
                "تاريخ البدء",
                "Starts on",
                start,
                "صالحة حتى",
                "Valid until",
                end,
                "للتحقق من هذه الوثيقة امسحوا الرمز أو افتحوا الرابط أدناه",
                document["verification_url"],
            ],
        )
        assert platform.applicant()[1]["phone"] not in text
        assert qr_texts(png) == [document["verification_url"]]
        assert await page_state(url, document) == "valid"
        twin = await verified(url, document)
        assert (twin["state"], twin["holder"], twin["number"]) == ("valid", "سامي خ.", number)
        assert twin["title_ar"] == "كتاب موافقة" and twin["valid_until"] == form["end_date"]

        # A no-show at free training cancels it: the letter is revoked, with the reason.
        await platform.move_to_day(date.fromisoformat(form["start_date"]))
        cancelled = await platform.attendance(number, attended=False)
        assert cancelled["status"] == "cancelled" and cancelled["approval_letter"] is None

        async def revoked() -> dict[str, Any] | None:
            found = await verified(url, document)
            return found if found["state"] == "revoked" else None

        twin = await eventually(revoked, timeout=30, message="the approval letter revoked")
        assert (twin["reason_en"], twin["reason_ar"]) == (
            "no-show at the training", "عدم الحضور لمباشرة التدريب"
        )  # fmt: skip
        assert await page_state(url, document) == "revoked"
        assert (await call(url, "GET", route, owner)).status_code == 404
        # The revoked version stays readable by its holder, as the page says.
        [kept] = await documents_of(url, owner, 1)
        assert kept["state"] == "revoked"
        assert (await call(url, "GET", kept["pdf_url"], owner)).content == pdf

        async def both_events() -> bool:
            return bool(events_of(seen, REVOKED, number)) and bool(events_of(seen, ISSUED, number))

        await eventually(both_events, message="the issued and revoked events")
        [issued] = events_of(seen, ISSUED, number)
        assert issued["kind"] == "approval_letter" and issued["sha256"] == document["sha256"]
        assert HOLDER not in json.dumps(issued, ensure_ascii=False)
        assert len(events_of(seen, REVOKED, number)) == 1


async def test_a_paid_letter_is_replaced_at_the_postponement_and_the_training_completed(
    platform: Platform, tmp_path: Path
) -> None:
    url = platform.training.url
    async with recording(platform.connection, "training.document.#") as seen:
        # The beginner course: its Arabic name is all Arabic. `دورة ArcGIS Pro` is drawn right
        # (looked at), but poppler extracts a line with more Latin than Arabic letters left to
        # right (services/common/README.md, "How the tests read a document").
        number, subject, _ = await platform.submitted(platform.gis_form("beginner"))
        await platform.approve(number)
        bill = await platform.bill(number, subject)
        await platform.pay(bill["e_payment_number"], bill["amount_fils"])
        found = await platform.status_becomes(number, "approved")
        owner, other = platform.token(subject), platform.token("citizen-doc-other")
        [first] = await documents_of(url, owner, 1)
        assert (first["kind"], first["version"]) == ("approval_letter", 1)

        # A no-show, then a new date: the letter's dates change, a new version replaces it.
        start = date.fromisoformat(found["start_date"])
        await platform.move_to_day(start)
        offered = await platform.attendance(number, attended=False)
        assert offered["status"] == "postponement_offered"
        assert await page_state(url, first) == "valid"  # the approval stands meanwhile
        new_start = start + timedelta(days=7)
        new_start = new_start if CALENDAR.is_working_day(new_start) else (
            CALENDAR.next_working_day(new_start)
        )  # fmt: skip
        postponed = await platform.call(
            "POST", f"/v1/requests/{number}/postpone", owner, {"start_date": new_start.isoformat()}
        )
        assert postponed.status_code == 200, postponed.text
        new_end = date.fromisoformat(postponed.json()["end_date"])
        second, replaced = await documents_of(url, owner, 2)
        assert (second["version"], second["state"], replaced["state"]) == (2, "valid", "replaced")
        assert second["valid_until"] == new_end.isoformat()
        twin = await verified(url, first)
        assert (twin["state"], twin["replaced_by_version"]) == ("replaced", 2)
        assert await page_state(url, first) == "replaced"
        route = f"/v1/requests/{number}/approval-letter"
        pdf = await checked(platform, second, owner, other, route)
        text, png = read(pdf, tmp_path, "training-approval_letter-postponed-v2")
        has_all(
            text,
            [
                "كتاب موافقة",
                "Approval letter",
                number,
                HOLDER,
                "دائرة نظم المعلومات الجغرافية",
                "الدورة المبتدئة",
                f"تاريخ البدء، مؤجلاً من {amman_date(start)}",
                f"Starts on, postponed from {amman_date(start)}",
                amman_date(new_start),
                "صالحة حتى",
                amman_date(new_end),
                "الرسوم المدفوعة",
                "100.000 JOD",
                "الإصدار",
                "Version",
            ],
        )
        assert qr_texts(png) == [second["verification_url"]]

        # Attended, then the period ends: the completion letter.
        await platform.move_to_day(new_start)
        await platform.attendance(number, attended=True)
        await platform.move_to_day(new_end + timedelta(days=1), hour=1)
        done = await platform.status_becomes(number, "completed")
        assert done["approval_letter"] == route
        latest = (await documents_of(url, owner, 3))[0]
        assert (latest["kind"], latest["version"], latest["state"]) == (
            "completion_letter", 1, "valid"
        )  # fmt: skip
        assert latest["valid_until"] is None
        pdf = await checked(platform, latest, owner, other, done["completion_letter"])
        text, png = read(pdf, tmp_path, "training-completion_letter-v1")
        has_all(
            text,
            [
                "كتاب انتهاء التدريب",
                "Training completion letter",
                number,
                HOLDER,
                "الدورة المبتدئة",
                "من تاريخ",
                "From",
                amman_date(new_start),
                "إلى تاريخ",
                "To",
                amman_date(new_end),
                latest["verification_url"],
            ],
        )
        assert qr_texts(png) == [latest["verification_url"]]
        assert await page_state(url, latest) == "valid"

        async def three() -> list[dict[str, Any]] | None:
            issued = events_of(seen, ISSUED, number)
            return issued if len(issued) >= 3 else None

        issued = await eventually(three, message="three documents issued")
        assert [(e["kind"], e["version"]) for e in issued] == [
            ("approval_letter", 1), ("approval_letter", 2), ("completion_letter", 1)
        ]  # fmt: skip
        assert issued[1]["replaces_version"] == 1
        assert events_of(seen, REVOKED, number) == []
