"""The renewed permit (pure): the completion of a renewal, and only it, asks for the document,
with the rows a verifier reads, valid until the permit's new end date, once per renewal."""

from __future__ import annotations

from datetime import date

from contracts import LocalizedText
from services.contractors import domain
from services.contractors.domain import RENEWED_PERMIT, Status
from tests.unit.contractors.builders import (
    DUE,
    FEES,
    NOW,
    REVIEWER,
    approved,
    paid_with,
    permit,
    submitted,
)


def rows(due: domain.Change) -> dict[str, tuple[str, str]]:
    [document] = due.documents
    return {row.label_en: (row.label_ar, row.value) for row in document.rows}


def test_a_paid_renewal_issues_the_renewed_permit_with_what_a_verifier_reads() -> None:
    done = domain.record_payment(approved().request, paid_with(), permit(), NOW)
    assert done is not None and done.request.status is Status.COMPLETED
    [document] = done.documents
    assert (document.action, document.kind, document.number) == (
        "issue",
        "renewed_permit",
        "P-2026-0112/2026",
    )
    assert document.owner == "citizen-1"
    assert document.holder == "مؤسسة النور للمقاولات"
    assert document.issued_at == NOW
    assert document.valid_until == date(2027, 12, 31) == done.request.valid_to
    assert rows(done) == {
        "Contractor number": ("رقم المقاول", "C-10234"),
        "Renewal": (
            "التجديد",
            "تم تجديد تصريح المقاول رقم P-2026-0112 وهو ساري المفعول من 01/01/2027 حتى 31/12/2027",
        ),
        "Renewal request number": ("رقم طلب التجديد", "CP-2026-000123"),
        "Renewal fee paid": ("رسم التجديد المدفوع", "100.000 JOD"),
    }
    # No phone, no reason, no citizen's name: only what the permit attests.
    text = repr(document.to_entry())
    assert "+962791234567" not in text and "انتهاء مدة التصريح" not in text


def test_a_free_renewal_issues_it_at_approval_with_a_zero_fee() -> None:
    done = domain.approve(
        submitted("maintenance"),
        REVIEWER,
        NOW,
        fees=FEES,
        permit=permit(),
        payment_due_at=DUE,
        note=None,
    )
    assert done.request.status is Status.COMPLETED
    assert rows(done)["Renewal fee paid"] == ("رسم التجديد المدفوع", "0.000 JOD")


def test_no_other_step_issues_a_document() -> None:
    waiting = approved()
    assert waiting.documents == ()
    assert domain.reject(submitted(), REVIEWER, NOW, reason=_reason()).documents == ()
    cancelled = domain.cancel_unpaid(waiting.request, NOW, "payment_expired")
    assert cancelled is not None and cancelled.documents == ()
    late = domain.record_payment(cancelled.request, paid_with(), None, NOW)
    assert late is not None and late.documents == ()
    # Paid again after completion: nothing to do, so nothing issued.
    done = domain.record_payment(waiting.request, paid_with(), permit(), NOW)
    assert done is not None
    assert domain.record_payment(done.request, paid_with(), permit(), NOW) is None


def test_once_per_renewal_a_new_renewal_of_the_permit_is_a_new_version() -> None:
    """The same completion decided twice (a redelivery that got past the guard) stages the same
    id, which the issuer does once; another renewal of the same permit gets another id."""
    first = domain.record_payment(approved().request, paid_with(), permit(), NOW)
    again = domain.record_payment(approved().request, paid_with(), permit(), NOW)
    assert first is not None and again is not None
    assert first.documents[0].id == again.documents[0].id
    later = approved().request.model_copy(update={"request_number": "CP-2027-000001"})
    next_year = domain.record_payment(later, paid_with(), permit(date(2027, 12, 31)), NOW)
    assert next_year is not None
    assert next_year.documents[0].number == first.documents[0].number
    assert next_year.documents[0].id != first.documents[0].id
    assert next_year.documents[0].valid_until == date(2028, 12, 31)


def test_the_kind_is_a_business_document_staff_of_the_service_read() -> None:
    assert RENEWED_PERMIT.holder_is_person is False
    assert set(RENEWED_PERMIT.staff_roles) == {domain.REVIEWER, domain.REGISTRAR}
    assert (RENEWED_PERMIT.title_en, RENEWED_PERMIT.title_ar) == (
        "Renewed contractor permit",
        "تصريح مقاول مجدد",
    )


def _reason() -> LocalizedText:
    return LocalizedText(ar="مخالفات غير مسددة", en="Unpaid fines")


def test_a_permit_the_registry_revokes_has_its_renewed_permit_revoked_once() -> None:
    active, revoked = permit(), permit(status="revoked")
    [due] = domain.on_registry_change(active, revoked, NOW)
    assert (due.action, due.kind, due.number) == ("revoke", "renewed_permit", "P-2026-0112/2026")
    assert due.reason_ar == "أُلغي التصريح في سجل المقاولين." and due.at == NOW
    assert domain.on_registry_change(None, revoked, NOW)[0].action == "revoke"
    # Already revoked, suspended, active again, or unchanged: nothing.
    assert domain.on_registry_change(revoked, revoked, NOW) == []
    assert domain.on_registry_change(active, permit(status="suspended"), NOW) == []
    assert domain.on_registry_change(revoked, active, NOW) == []
    assert domain.on_registry_change(active, permit(valid_to=date(2027, 12, 31)), NOW) == []
