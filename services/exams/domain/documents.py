"""The documents a candidate keeps (issue #17), decided with the request's moves: pure, each a
`Due` record the move returns with its change and the store stages in the same write.

- **The result slip** (`exam_result_slip`): issued when the reviewed result is recorded, passed
  or failed (`record_result`): the exam, the candidate, the exam's date, the result and the score
  where one is given.
- **The notice that the certificate is ready** (`certificate_notice`): issued with a pass (the
  step to `certificate_ready`): the exam, where and when to collect the certificate, and what to
  bring. **Revoked when the certificate is collected** (`record_collection`): it has done its
  job, and a notice still "valid" would tell whoever is shown it that a certificate waits at the
  station. The result slip is never revoked: no step of the workflow takes a result back.

Each is issued `once` per step, so a change staged twice (a retried save) issues it once. The
document's number is the request's: staff find both documents of a request by its number.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from contracts import LocalizedText
from services.common.documents.model import DocumentKind, Due, Row, issue, revoke
from services.common.formatting import amman_date
from services.exams.domain.workflow import (
    COORDINATOR,
    OUTCOME_LABELS,
    ExamType,
    RequestAction,
    RequestStatus,
)

if TYPE_CHECKING:  # the documents only read the request
    from services.exams.domain.request import ExamRequest

RESULT_SLIP = DocumentKind(
    "exam_result_slip", "Exam result slip", "بيان نتيجة امتحان", staff_roles=(COORDINATOR,)
)
CERTIFICATE_NOTICE = DocumentKind(
    "certificate_notice",
    "Notice: certificate ready for collection",
    "إشعار بجاهزية الشهادة للاستلام",
    staff_roles=(COORDINATOR,),
)
KINDS = (RESULT_SLIP, CERTIFICATE_NOTICE)

# The steps that issue them (`once`): a second entry for the same step does nothing.
RESULT_STEP = "result_recorded"
NOTICE_STEP = RequestStatus.CERTIFICATE_READY.value

# U+200F RIGHT-TO-LEFT MARK: the renderer lays a value out in the direction of its first strong
# letter (HTML's dir="auto"), and an Arabic exam name may start with Latin (`ICDL معالجة
# النصوص`); the mark makes it the Arabic line it is, read from the right. It is invisible, and
# text extraction drops it.
RLM = "\u200f"


def arabic(text: str) -> str:
    """An Arabic value, laid out right to left whatever letter it starts with."""
    return RLM + text


def _exam_names(request: ExamRequest) -> LocalizedText:
    """The exam's name, and the body that grants an official exam's certificate."""
    name, body = request.exam.name, request.exam.granting_body
    if body is None:
        return name
    return LocalizedText(
        ar=f"{name.ar}، شهادة تمنحها {body.ar}", en=f"{name.en}, certificate granted by {body.en}"
    )


def sat_on(request: ExamRequest) -> datetime | None:
    """When the candidate sat the exam: an official session's date, else (a trial exam) when
    their attendance was recorded."""
    if request.exam_type is ExamType.OFFICIAL and request.exam_at is not None:
        return request.exam_at
    attended = [e.at for e in request.history if e.action == RequestAction.RECORD_ATTENDANCE]
    return attended[-1] if attended else None


def result_statement(request: ExamRequest) -> LocalizedText:
    """The result in a sentence of each language: outcome, score where one was given, and the
    exam's date (`ناجح بعلامة 92 من 100 في الامتحان المعقود بتاريخ 06/12/2026`)."""
    assert request.result is not None
    outcome, score = OUTCOME_LABELS[request.result.outcome], request.result.score
    ar, en = outcome.ar, outcome.en
    if score is not None:
        ar, en = f"{ar} بعلامة {score} من 100", f"{en}, with a score of {score} out of 100"
    sat = sat_on(request)
    if sat is not None:
        day = amman_date(sat)
        ar, en = f"{ar} في الامتحان المعقود بتاريخ {day}", f"{en}, in the exam held on {day}"
    return LocalizedText(ar=ar, en=en)


def _pair(label_en: str, label_ar: str, text: LocalizedText) -> list[Row]:
    """A fact in both languages: the Arabic value, then the English one, under one label."""
    return [Row(label_en, label_ar, arabic(text.ar)), Row(label_en, label_ar, text.en)]


def result_slip(request: ExamRequest, now: datetime) -> Due:
    """The result slip of a request whose result was just recorded."""
    return issue(
        RESULT_SLIP,
        request.request_number,
        owner=request.owner_subject,
        holder=request.applicant.name,
        rows=[
            *_pair("Exam", "الامتحان", _exam_names(request)),
            *_pair("Result", "النتيجة", result_statement(request)),
        ],
        issued_at=now,
        once=RESULT_STEP,
    )


def collection_statement(request: ExamRequest) -> LocalizedText:
    """Where, when and with what the certificate is collected, in a sentence of each language."""
    name, centre, documents = request.exam.name, request.centre, request.documents
    hours = centre.working_hours
    return LocalizedText(
        ar=f"شهادة {name.ar} جاهزة للاستلام من {centre.name.ar} خلال الدوام الرسمي، "
        f"{hours.ar}، مع إحضار {documents.ar}",
        en=f"The certificate for {name.en} is ready for collection from "
        f"{centre.name.en} during working hours, {hours.en}; bring {documents.en}",
    )


def certificate_notice(request: ExamRequest, now: datetime) -> Due:
    """The notice of a request whose certificate is now ready for collection."""
    return issue(
        CERTIFICATE_NOTICE,
        request.request_number,
        owner=request.owner_subject,
        holder=request.applicant.name,
        rows=_pair("Notice", "الإشعار", collection_statement(request)),
        issued_at=now,
        once=NOTICE_STEP,
    )


def notice_done(request: ExamRequest, now: datetime) -> Due:
    """The notice revoked: the certificate was collected (nothing, if none is in force)."""
    day = amman_date(now)
    return revoke(
        CERTIFICATE_NOTICE,
        request.request_number,
        reason_en=f"The certificate was collected on {day}; this notice has done its job.",
        reason_ar=f"استُلمت الشهادة بتاريخ {day}، فانتهى الغرض من هذا الإشعار.",
        at=now,
    )
