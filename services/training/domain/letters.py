"""The letters a training request gives its applicant, as documents (issue #17): the approval
letter (`approval_letter`, issued when the request is approved, free or paid; a new version when
the training is postponed; revoked when an approved training is cancelled) and the completion
letter (`completion_letter`, issued when a training's period is over; a mission has none).

Pure: the kinds, and the `Due` records a move returns with its change (the store stages them in
the same write). The rows hold what a citizen shows and a verifier checks: the department, the
course, the institution or the study, the period (dd/mm/yyyy), the fee paid, and one statement in
each language; no phone, no national number.
"""

from __future__ import annotations

from datetime import datetime

from services.common.documents.model import DocumentKind, Due, Row, issue, revoke
from services.common.formatting import amman_date, format_jod
from services.training.domain.application import ApplicantType, Kind
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
    app = request.application
    rows = [Row("Department", "الدائرة", app.department.ar)]
    if app.course is not None:
        rows.append(Row("Course", "الدورة", app.course.name.ar))
        rows.append(Row("Hours", "عدد الساعات", str(app.course.hours)))
    if app.applicant_type is ApplicantType.NOMINATED and app.institution_name:
        rows.append(Row("Nominated by", "الجهة المنسِّبة", app.institution_name))
    if app.study_subject:
        rows.append(Row("Study subject", "موضوع الدراسة", app.study_subject))
    rows.append(Row("From", "من تاريخ", amman_date(app.start_date)))
    rows.append(Row("To", "إلى تاريخ", amman_date(app.end_date)))
    return rows


def approval_letter(request: TrainingRequest, now: datetime) -> Due:
    """The approval letter of a request just approved (or paid), or just postponed (a new
    version, which replaces the previous one: its dates changed). Valid until the period's
    last day."""
    app = request.application
    start, end = amman_date(app.start_date), amman_date(app.end_date)
    rows = _facts(request)
    if request.original_start_date is not None:
        rows.append(Row("Postponed from", "مؤجل من تاريخ", amman_date(request.original_start_date)))
    if request.paid_at is not None and app.fee_fils:
        rows.append(Row("Fee paid", "الرسوم المدفوعة", f"{format_jod(app.fee_fils)} JOD"))
    if app.kind is Kind.TRAINING:
        ar = (
            f"توافق أمانة عمّان الكبرى على تدريب صاحب الوثيقة لدى {app.department.ar} "
            f"من {start} إلى {end}"
        )
        en = (
            "The Greater Amman Municipality approves the training of the holder in the "
            f"{app.department.en} from {start} to {end}"
        )
    else:
        ar = (
            "توافق أمانة عمّان الكبرى على تسهيل مهمة صاحب الوثيقة لإجراء الدراسة المذكورة "
            f"لدى {app.department.ar} من {start} إلى {end}"
        )
        en = (
            "The Greater Amman Municipality approves facilitating the holder's mission for the "
            f"study named, with the {app.department.en}, from {start} to {end}"
        )
    rows += [Row("Statement", "البيان", ar), Row("Statement (English)", "البيان بالإنجليزية", en)]
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
    start, end = amman_date(app.start_date), amman_date(app.end_date)
    ar = (
        f"تشهد أمانة عمّان الكبرى بأن صاحب الوثيقة أنهى مدة التدريب لدى {app.department.ar} "
        f"من {start} إلى {end}، ويُستلم تقرير التقييم باليد من الدائرة"
    )
    en = (
        "The Greater Amman Municipality certifies that the holder completed the training "
        f"period in the {app.department.en} from {start} to {end}; the evaluation report is "
        "collected in person"
    )
    rows = [
        *_facts(request),
        Row("Statement", "البيان", ar),
        Row("Statement (English)", "البيان بالإنجليزية", en),
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
