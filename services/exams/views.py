"""What the inquiry screens say about a request or a session, in Arabic and English: the labels,
the next step (the state's template filled in with amounts in JOD and Amman times), the deadline
and the timeline's labels.

Not rules: words for people, derived from the workflow tables (`domain/workflow.py`) and written
the platform's way (`services.common.formatting`). The API shapes them into its answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from contracts import LocalizedText
from services.common.formatting import amman_time, deadline_text, format_jod
from services.common.workflow import State, Step, TimelineEntry, move_of, steps
from services.exams.domain import (
    REQUEST_STATES,
    REQUEST_WORKFLOW,
    SESSION_STATES,
    SESSION_WORKFLOW,
    ExamRequest,
    ExamSession,
    ExamType,
    RequestStatus,
    SessionStatus,
)

EXAM_TYPE_LABELS: Mapping[ExamType, LocalizedText] = {
    ExamType.OFFICIAL: LocalizedText(
        en="Official exam (accredited certificate)", ar="امتحان رسمي (شهادة معتمدة)"
    ),
    ExamType.TRIAL: LocalizedText(en="Trial (commercial) exam", ar="امتحان تجريبي (تجاري)"),
}


@dataclass(frozen=True)
class Deadline:
    at: datetime
    label: LocalizedText
    is_overdue: bool


@dataclass(frozen=True)
class TimelineLine:
    """A timeline entry with its labels: what happened, the state before and after."""

    entry: TimelineEntry
    label: LocalizedText
    source_label: LocalizedText | None
    target_label: LocalizedText


@dataclass(frozen=True)
class Inquiry:
    """What the request-inquiry screen shows besides the request's own fields."""

    status_label: LocalizedText
    next_step: LocalizedText | None
    deadline: Deadline | None
    timeline: tuple[TimelineLine, ...]


def status_label(status: RequestStatus | SessionStatus) -> LocalizedText:
    if isinstance(status, RequestStatus):
        return REQUEST_STATES[status].label
    return SESSION_STATES[status].label


def inquiry(request: ExamRequest, session: ExamSession | None, now: datetime) -> Inquiry:
    """The status, the next step, the deadline and the timeline's labels, in Arabic and English."""
    state = REQUEST_STATES[request.status]
    common = {
        "fee": format_jod(request.fee.amount_fils),
        "due": amman_time(request.fee.due_at),
        "minimum": str(request.session_minimum or ""),
        "exam_at": amman_time(request.exam_at) if request.exam_at else "",
    }
    venue = request.venue or request.centre.name
    values = {
        lang: {
            **common,
            "centre": getattr(request.centre.name, lang),
            "hours": getattr(request.centre.working_hours, lang),
            "venue": getattr(venue, lang),
            "documents": getattr(request.documents, lang),
        }
        for lang in ("en", "ar")
    }
    return Inquiry(
        status_label=state.label,
        next_step=_fill(state, values),
        deadline=_request_deadline(request, session, now),
        timeline=_timeline(REQUEST_WORKFLOW, REQUEST_STATES, request.history),
    )


def _request_deadline(
    request: ExamRequest, session: ExamSession | None, now: datetime
) -> Deadline | None:
    """What the applicant waits for, and by when: the payment, the date, or the exam itself."""
    if request.status is RequestStatus.AWAITING_PAYMENT:
        return Deadline(
            request.fee.due_at,
            LocalizedText(en="Pay by", ar="آخر موعد للدفع"),
            is_overdue=now > request.fee.due_at,
        )
    if (
        request.status is RequestStatus.AWAITING_SESSION
        and session is not None
        and session.date_due_at is not None
    ):
        return Deadline(
            session.date_due_at,
            LocalizedText(en="Exam date to be set by", ar="آخر موعد لتحديد موعد الامتحان"),
            is_overdue=session.is_overdue(now),
        )
    if request.status is RequestStatus.SCHEDULED and request.exam_at is not None:
        return Deadline(
            request.exam_at, LocalizedText(en="Exam on", ar="موعد الامتحان"), is_overdue=False
        )
    return None


def session_next_step(session: ExamSession) -> LocalizedText | None:
    """What the coordinator does next with a session."""
    state = SESSION_STATES[session.status]
    common = {
        "minimum": str(session.minimum),
        "candidates": str(len(session.candidates)),
        # The deadline is the midnight ending its last day: shown as that day's 23:59.
        "due": deadline_text(session.date_due_at) if session.date_due_at else "",
        "exam_at": amman_time(session.exam_at) if session.exam_at else "",
    }
    venue = session.venue or session.centre.name
    body = session.exam.granting_body or session.centre.name
    values = {
        lang: {**common, "venue": getattr(venue, lang), "granting_body": getattr(body, lang)}
        for lang in ("en", "ar")
    }
    return _fill(state, values)


def session_timeline(session: ExamSession) -> tuple[TimelineLine, ...]:
    return _timeline(SESSION_WORKFLOW, SESSION_STATES, session.history)


def _fill(state: State, values: Mapping[str, Mapping[str, str]]) -> LocalizedText | None:
    if state.next_en is None or state.next_ar is None:
        return None
    return LocalizedText(
        en=state.next_en.format_map(values["en"]), ar=state.next_ar.format_map(values["ar"])
    )


def _timeline(
    workflow: Sequence[Step], labels: Mapping[str, State], history: Sequence[TimelineEntry]
) -> tuple[TimelineLine, ...]:
    return tuple(
        TimelineLine(
            entry=entry,
            label=_entry_label(workflow, entry),
            source_label=None if entry.source is None else labels[entry.source].label,
            target_label=labels[entry.target].label,
        )
        for entry in history
    )


def _entry_label(workflow: Sequence[Step], entry: TimelineEntry) -> LocalizedText:
    step = move_of(workflow, entry.action, entry.source, entry.target)
    return step.label if step else steps(workflow, entry.action)[0].label
