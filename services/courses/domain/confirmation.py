"""The enrolment confirmation: the document a citizen keeps once their seat is confirmed.

Issued (a PDF, by the shared document machinery) by the change that approves the request: a free
course's approval (6.1, 6.2, 6.3.1, or an accepted proof) or a paid course's fee paid (7.4). Its
number is the request's. A course rescheduled after it was issued changes its dates: the sync
that tells the participant the new date issues a new version, which replaces the old one.

Pure: the rows are built from the request and its course as they stand.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from contracts import LocalizedText
from services.common.documents.model import DocumentKind, Due, Row, issue
from services.common.formatting import amman_time, format_jod
from services.courses.domain.workflow import STAFF_ROLES, RequestStatus

if TYPE_CHECKING:
    from services.courses.domain.course import Course
    from services.courses.domain.request import CourseRequest

ENROLMENT_CONFIRMATION = DocumentKind(
    "enrolment_confirmation",
    "Course enrolment confirmation",
    "تأكيد التسجيل في دورة",
    staff_roles=STAFF_ROLES,
    holder_is_person=True,
)
# The `once` name of the first version: a redelivered bill or a second sync issues nothing more.
CONFIRMED = "confirmed"


def rows(course: Course) -> list[Row]:
    """What the confirmation attests: the course, its start, schedule and place, and the fee paid
    (none for a free course). Nothing of the applicant but the name it shows as its holder.

    The course's texts are shown in both languages on one line, the Arabic first (`أساسيات
    البرمجة / Programming basics`): one row each keeps the page to one A4 sheet with its QR code;
    a row per language did not fit."""
    found = [
        Row("Course", "الدورة", _both(course.title)),
        Row("Starts on", "موعد البدء", amman_time(course.starts_at)),
        Row("Schedule", "المواعيد", _both(course.schedule)),
        Row("Place", "المكان", _both(course.place)),
    ]
    if not course.is_free:
        found.append(Row("Fee paid", "الرسوم المدفوعة", f"{format_jod(course.fee_fils)} JOD"))
    return found


def _both(text: LocalizedText) -> str:
    return f"{text.ar} / {text.en}"


def confirmation(request: CourseRequest, course: Course, now: datetime, *, once: str) -> Due:
    """The confirmation of `request`'s seat in `course` as it stands now."""
    return issue(
        ENROLMENT_CONFIRMATION,
        request.number,
        owner=request.owner_subject,
        holder=request.applicant.name,
        rows=rows(course),
        issued_at=now,
        once=once,
    )


def is_outdated(request: CourseRequest, course: Course) -> bool:
    """The request's confirmation shows an earlier date than the course has now."""
    shown = request.confirmed_schedule_version
    return (
        request.status is RequestStatus.APPROVED
        and shown is not None
        and shown < course.schedule_version
    )


def reissue_once(course: Course) -> str:
    """The `once` name of the version showing the course's current dates."""
    return f"schedule-{course.schedule_version}"
