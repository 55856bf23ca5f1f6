"""The document a completed renewal gives: the renewed permit (issue #17). Pure: the kind, and
the `Due` record the completion returns with its change (the store stages it in the same write).

- **Number**: the permit as the registry keys it, `<permit number>/<permit year>`
  (`P-2026-0112/2026`): the registry holds a permit number once per year, so the number alone
  could name two permits. Each renewal of the permit is the next version of this document, which
  replaces the previous one.
- **Once**: the renewal request (`renewal-CP-2026-000001`): a completion staged again (a
  redelivered payment that got past the domain's guard) issues nothing more; the next renewal of
  the permit is another request, hence a new version.
- **Holder**: the contractor (a business: shown whole on the public page); the owner, who may
  download it, is the citizen who submitted the renewal.
- **Valid until** the permit's new end date: after it the verification page says `expired`.
- **Revoked** when the registry revokes the permit (an import moving its status to `revoked`):
  the document attests a permit the municipality withdrew. A suspension (which may be lifted)
  leaves it as it is.
"""

from __future__ import annotations

from datetime import date, datetime

from services.common.documents.model import DocumentKind, Due, Row, issue, revoke
from services.common.formatting import amman_date, format_jod
from services.contractors.domain.permits import Permit, PermitStatus
from services.contractors.domain.workflow import REGISTRAR, REVIEWER

RENEWED_PERMIT = DocumentKind(
    "renewed_permit",
    "Renewed contractor permit",
    "تصريح مقاول مجدد",
    staff_roles=(REVIEWER, REGISTRAR),
    holder_is_person=False,
)


def permit_document_number(permit_number: str, permit_year: int) -> str:
    """`P-2026-0112/2026`: the renewed permit's document number."""
    return f"{permit_number}/{permit_year}"


def renewed_permit(
    *,
    request_number: str,
    owner_subject: str,
    contractor_number: str,
    contractor_name_ar: str,
    contractor_name_en: str,
    permit_number: str,
    permit_year: int,
    classification: str,
    category: str,
    valid_from: date,
    valid_to: date,
    fee_fils: int,
    completed_at: datetime,
) -> Due:
    """The renewed permit, as the completion of `request_number` issues it."""
    return issue(
        RENEWED_PERMIT,
        permit_document_number(permit_number, permit_year),
        owner=owner_subject,
        holder=contractor_name_ar,
        rows=[
            Row("Contractor number", "رقم المقاول", contractor_number),
            Row(
                "Renewal",
                "التجديد",
                f"تم تجديد تصريح المقاول رقم {permit_number} "
                f"وهو ساري المفعول من {amman_date(valid_from)} حتى {amman_date(valid_to)}",
            ),
            Row("Renewal request number", "رقم طلب التجديد", request_number),
            Row("Renewal fee paid", "رسم التجديد المدفوع", f"{format_jod(fee_fils)} JOD"),
        ],
        issued_at=completed_at,
        valid_until=valid_to,
        once=f"renewal-{request_number}",
    )


def on_registry_change(before: Permit | None, after: Permit, now: datetime) -> list[Due]:
    """What an import's change of a permit does to its renewed permit: revoked in the registry
    (and not before) -> the document in force is revoked (nothing, if none is)."""
    if after.status is not PermitStatus.REVOKED:
        return []
    if before is not None and before.status is PermitStatus.REVOKED:
        return []
    return [
        revoke(
            RENEWED_PERMIT,
            permit_document_number(after.number, after.year),
            reason_en="The permit was revoked in the contractors' registry.",
            reason_ar="أُلغي التصريح في سجل المقاولين.",
            at=now,
        )
    ]
