"""The inquiry view: what the inquiry screen shows of a request (the state's label,
the next step with its dates and amounts filled in, the deadline, the timeline's labels). Not
rules: wording and formatting, read off the workflow table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts import LocalizedText
from services.common import workflow
from services.common.calendar import WorkingCalendar
from services.common.workflow import TimelineEntry
from services.training.domain import (
    AMMAN,
    LETTER_STATES,
    REVIEW_TARGET_WORKING_DAYS,
    STATES,
    WORKFLOW,
    Kind,
    Status,
    TrainingRequest,
)

COMPLETED_TRAINING = LocalizedText(
    en="Print the completion letter from this screen; collect the evaluation report in person.",
    ar="اطبع كتاب انتهاء التدريب من هذه الشاشة، واحضر لاستلام تقرير التقييم باليد.",
)
COMPLETED_MISSION = LocalizedText(
    en="Hand in a paper and an electronic copy of the study once it is finished and its "
    "results are out.",
    ar="سلّم نسخة ورقية وإلكترونية من الدراسة بعد إنهائها وصدور نتائجها.",
)


def _jod(fils: int) -> str:
    return f"{fils // 1000}.{fils % 1000:03d}".rstrip("0").rstrip(".")


def amman_time(instant: datetime) -> str:
    return instant.astimezone(AMMAN).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Inquiry:
    status: Status
    label: LocalizedText
    next_step: LocalizedText | None
    deadline: datetime | None
    is_overdue: bool


def inquiry(request: TrainingRequest, now: datetime, calendar: WorkingCalendar) -> Inquiry:
    state = STATES[request.status]
    app = request.application
    deadline: datetime | None = None
    if request.status is Status.UNDER_REVIEW:
        deadline = request.review_due_at
    elif request.status is Status.AWAITING_PAYMENT:
        deadline = request.payment_due_at
    elif request.status in (Status.AWAITING_CORRECTION, Status.POSTPONEMENT_OFFERED):
        deadline = request.due_at
    target = (
        calendar.deadline_after(request.review_started_at, REVIEW_TARGET_WORKING_DAYS)
        if request.review_started_at
        else None
    )
    completed = COMPLETED_TRAINING if app.kind is Kind.TRAINING else COMPLETED_MISSION
    note = request.attachment_note or LocalizedText(ar="-", en="-")
    values = {
        "en": {
            "target": amman_time(target) if target else "-",
            "sla": amman_time(request.review_due_at) if request.review_due_at else "-",
            "due": amman_time(deadline) if deadline else "-",
            "note": note.en,
            "fee": _jod(app.fee_fils),
            "start": app.start_date.isoformat(),
            "end": app.end_date.isoformat(),
            "latest": request.latest_start_date.isoformat() if request.latest_start_date else "-",
            "completed_en": completed.en,
            "completed_ar": completed.ar,
        },
    }
    values["ar"] = {**values["en"], "note": note.ar}
    next_step = None
    if state.next_en and state.next_ar:
        next_step = LocalizedText(
            en=state.next_en.format(**values["en"]), ar=state.next_ar.format(**values["ar"])
        )
    is_overdue = (
        request.status is Status.UNDER_REVIEW
        and request.review_due_at is not None
        and now >= request.review_due_at
    )
    return Inquiry(request.status, state.label, next_step, deadline, is_overdue)


def approval_letter_id(request: TrainingRequest) -> str | None:
    """The approval letter the request shows: its current version, while the approval stands
    (approved, postponed, attending, completed); a cancelled request's letter is revoked."""
    return request.approval_letter_id if request.status in LETTER_STATES else None


def completion_letter_id(request: TrainingRequest) -> str | None:
    """The completion letter: a training whose period is over (a mission has none)."""
    return request.completion_letter_id if request.status is Status.COMPLETED else None


def entry_label(entry: TimelineEntry) -> LocalizedText:
    step = workflow.move_of(WORKFLOW, entry.action, entry.source, entry.target)
    return step.label if step else LocalizedText(ar=entry.action, en=entry.action)
