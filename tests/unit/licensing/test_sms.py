"""The SMS the notifier sends for licensing's events, rendered from the catalogue's templates as
the notifier renders them: the exact Arabic and English texts of the branches."""

from __future__ import annotations

from typing import Any

from services.notifier.catalogue import TemplateEntry
from tests.unit.sms_checks import CATALOGUE, assert_fits


def render(name: str, lang: str, **changes: Any) -> str:
    entry = CATALOGUE.entry(name, "event")
    sample = {**entry.sample, **changes}
    context = CATALOGUE.sample_context(TemplateEntry(name, "event", entry.when, sample))
    return CATALOGUE.render(name, lang, context)


def test_every_licensing_template_fits_3_segments_with_long_staff_text() -> None:
    findings = "التمديدات الكهربائية مكشوفة ولا توجد طفاية حريق ولا مخرج طوارئ في المستودع " * 4
    for lang in ("ar", "en"):
        for text in (
            render("licensing.request.rectification_required.v1", lang, findings=findings),
            render(
                "licensing.request.committee_decided.v1", lang,
                decision="not_approved", reasons=findings,
            ),
        ):  # fmt: skip
            assert_fits(text, filled=False)


def test_the_document_check_names_each_document_and_what_is_wrong() -> None:
    assert render("licensing.request.documents_rejected.v1", "en") == (
        "Greater Amman Municipality: licence request LC-2026-000123: please replace these "
        "attachments and resubmit the request: occupancy permit (wrong), lease contract (missing)."
    )
    allocation = [
        {
            "document": "allocation_document",
            "name": {"ar": "وثيقة التخصيص", "en": "allocation document"},
            "issue": "missing",
        }
    ]
    assert render("licensing.request.documents_rejected.v1", "ar", documents=allocation).endswith(
        "وإعادة تقديم الطلب: وثيقة التخصيص (ناقص)."
    )


def test_a_reinspection_says_so() -> None:
    text = render("licensing.request.inspection_scheduled.v1", "ar", is_reinspection=True)

    assert "حُدّد موعد إعادة الكشف" in text and "25/11/2026 11:30" in text


def test_the_committee_refusal_gives_the_reasons() -> None:
    text = render(
        "licensing.request.committee_decided.v1", "ar", decision="not_approved", reasons="مخالف"
    )

    assert text == (
        "أمانة عمّان الكبرى: لم توافق اللجنة المعنية على طلب الرخصة LC-2026-000123. الأسباب: مخالف."
    )


def test_another_authority_s_refusal_names_it() -> None:
    civil_defence = render("licensing.request.external_approval_refused.v1", "en")
    health = render(
        "licensing.request.external_approval_refused.v1",
        "ar",
        is_civil_defence=False,
        authority_code="health",
        authority={"ar": "وزارة الصحة", "en": "Ministry of Health"},
    )

    assert civil_defence == (
        "Greater Amman Municipality: the approval of Civil Defence for licence request "
        "LC-2026-000123 was not obtained, so the licence cannot be issued."
    )
    assert health.startswith("أمانة عمّان الكبرى: لم يتم الحصول على موافقة وزارة الصحة على")


def test_the_licence_sms_carries_the_link_and_the_validity() -> None:
    text = render("licensing.licence.issued.v1", "ar")

    assert "سارية حتى 31/12/2026 23:59" in text
    assert text.endswith(
        "https://eservices.amman.jo/licensing/v1/licences/Xq3v9kP2mN8rT5wY7zA1bC4dE6fG0hJ"
    )
