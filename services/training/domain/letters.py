"""The letters a training request gives its applicant, as documents (issue #17): the approval
letter (`approval_letter`, issued when the request is approved, free or paid; a new version when
the training is postponed; revoked when an approved training is cancelled) and the completion
letter (`completion_letter`, issued when a training's period is over; a mission has none).

Pure: the kinds, and the `Due` records a move returns with its change (the store stages them in
the same write). The rows hold what a citizen shows and a verifier checks: the department, the
course, the nominating institution or the study, the dates (dd/mm/yyyy), the fee paid; no phone,
no national number. Few enough that the letter, its QR code and its footer fit one A4 page (the
shared template holds four rows besides its own with a last valid day, five without; a study
subject or an institution name of several lines pushes the footer to a second page).
"""

from __future__ import annotations

from datetime import datetime

from services.common.documents.model import DocumentKind, Due, Row, issue, revoke
from services.common.formatting import amman_date, format_jod
from services.training.domain.application import ApplicantType
from services.training.domain.request import TrainingRequest
from services.training.domain.workflow import STAFF_ROLES

APPROVAL_LETTER = DocumentKind(
    "approval_letter", "Approval letter", "كتاب موافقة", staff_roles=STAFF_ROLES
)
COMPLETION_LETTER = DocumentKind(
    "completion_letter", "Training completion letter", "كتاب انتهاء التدريب",
    staff_roles=STAFF_ROLES,
)  # fmt: skip
KINDS = (APPROVAL_LETTER, COMPLETION_LETTER)

# The step each version is issued at (`once`: a redelivered event issues it once).
APPROVED = "approved"
POSTPONED = "postponed"
COMPLETED = "completed"


def _facts(request: TrainingRequest) -> list[Row]:
    """The department, and what the applicant came with: the course (paid GIS training), the
    nominating institution, the study (a mission)."""
    app = request.application
    rows = [Row("Department", "الدائرة", app.department.ar)]
    if app.course is not None:
        rows.append(Row("Course", "الدورة", app.course.name.ar))
    if app.applicant_type is ApplicantType.NOMINATED and app.institution_name:
        rows.append(Row("Nominated by", "الجهة المنسِّبة", app.institution_name))
    if app.study_subject:
        rows.append(Row("Study subject", "موضوع الدراسة", app.study_subject))
    return rows


def approval_letter(request: TrainingRequest, now: datetime) -> Due:
    """The approval letter of a request just approved (or paid), or just postponed (a new
    version, which replaces the previous one: its dates changed). It holds for the period: its
    last valid day (printed as "Valid until") is the period's last day."""
    app = request.application
    rows = _facts(request)
    if request.paid_at is not None and app.fee_fils:
        rows.append(Row("Fee paid", "الرسوم المدفوعة", f"{format_jod(app.fee_fils)} JOD"))
    if request.original_start_date is None:
        rows.append(Row("Starts on", "تاريخ البدء", amman_date(app.start_date)))
    else:
        was = amman_date(request.original_start_date)
        rows.append(
            Row(f"Starts on, postponed from {was}", f"تاريخ البدء، مؤجلاً من {was}",
                amman_date(app.start_date))
        )  # fmt: skip
    return issue(
        APPROVAL_LETTER,
        request.number,
        owner=request.owner_subject,
        holder=request.applicant.name,
        rows=rows,
        issued_at=now,
        valid_until=app.end_date,
        once=POSTPONED if request.is_postponed else APPROVED,
    )


def completion_letter(request: TrainingRequest, now: datetime) -> Due:
    """The completion letter of a training whose period is over (no expiry)."""
    app = request.application
    rows = [
        *_facts(request),
        Row("From", "من تاريخ", amman_date(app.start_date)),
        Row("To", "إلى تاريخ", amman_date(app.end_date)),
    ]
    return issue(
        COMPLETION_LETTER,
        request.number,
        owner=request.owner_subject,
        holder=request.applicant.name,
        rows=rows,
        issued_at=now,
        once=COMPLETED,
    )


def revoke_approval(request: TrainingRequest, reason_en: str, reason_ar: str, now: datetime) -> Due:
    """An approved training cancelled: its approval letter no longer holds."""
    return revoke(APPROVAL_LETTER, request.number, reason_en=reason_en, reason_ar=reason_ar, at=now)
