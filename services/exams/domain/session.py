"""The official exam session: paid candidates gather until its minimum, then a coordinator sets
the date agreed with the granting body, within one working week (seed 004, step 3).

Like the request's, each function returns a `SessionChange`, None when there is nothing to do,
or raises a refusal; the moves follow `SESSION_WORKFLOW`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts import LocalizedText
from contracts.exams import (
    ExamCentre,
    ExamDetails,
    ExamSessionMinimumReached,
    ExamSessionOverdue,
    ExamSessionScheduled,
)
from services.common.calendar import WorkingCalendar
from services.common.errors import FieldError, NotAllowedNow, RuleBroken
from services.common.formatting import amman_date
from services.common.workflow import (
    Actor,
    Raised,
    StoredRecord,
    TimelineEntry,
    find_step,
    moved,
    system,
)
from services.exams.domain.catalogue import Catalogue
from services.exams.domain.request import ExamRequest
from services.exams.domain.workflow import (
    DATE_SLA_WORKING_DAYS,
    SERVICE,
    SESSION_WORKFLOW,
    SessionAction,
    SessionStatus,
)

SESSION_PREFIX = "ES"


class ExamSession(StoredRecord):
    """An official exam's session: candidates gather until the minimum, then a date is set."""

    session_number: str
    exam: ExamDetails
    centre: ExamCentre
    status: SessionStatus
    minimum: int
    seats: int
    candidates: tuple[str, ...] = ()
    opened_at: datetime
    minimum_reached_at: datetime | None = None
    date_due_at: datetime | None = None
    overdue_since: datetime | None = None
    exam_at: datetime | None = None
    venue: LocalizedText | None = None
    scheduled_at: datetime | None = None
    history: tuple[TimelineEntry, ...] = ()
    version: int = 0

    @property
    def is_accepting(self) -> bool:
        """Takes candidates until its date is set or its seats are taken."""
        return self.status is not SessionStatus.SCHEDULED and len(self.candidates) < self.seats

    @property
    def overdue_check_at(self) -> datetime | None:
        """When the overdue sweeper must look at it; None once it cannot become overdue."""
        if self.status is SessionStatus.AWAITING_DATE and self.overdue_since is None:
            return self.date_due_at
        return None

    def is_overdue(self, now: datetime) -> bool:
        return (
            self.status is SessionStatus.AWAITING_DATE
            and self.date_due_at is not None
            and now >= self.date_due_at
        )


@dataclass(frozen=True)
class SessionChange:
    """A decided change of a session: the session as it becomes, and the events it raises."""

    session: ExamSession
    events: tuple[Raised, ...] = ()


def open_session(
    request: ExamRequest, catalogue: Catalogue, session_number: str, now: datetime
) -> ExamSession:
    """A new session for the official exam of a paid request, before its first candidate.

    Its minimum and seats come from the catalogue; an exam withdrawn from the catalogue since
    the request was made still serves its paid candidates, with the minimum they were told."""
    step = find_step(SESSION_WORKFLOW, SessionAction.OPEN, None)
    opener = system(SERVICE)
    listed = catalogue.exam(request.exam.code)
    minimum = (listed.min_candidates if listed else None) or request.session_minimum or 1
    seats = max((listed.seats if listed else None) or minimum, minimum)
    return ExamSession(
        session_number=session_number,
        exam=request.exam,
        centre=request.centre,
        status=SessionStatus(step.target),
        minimum=minimum,
        seats=seats,
        opened_at=now,
        history=(
            TimelineEntry(
                at=now,
                action=step.action,
                source=None,
                target=step.target,
                by=opener.subject,
                role=opener.role_for(step),
            ),
        ),
    )


def admit(
    session: ExamSession,
    request_number: str,
    *,
    paid_at: datetime,
    now: datetime,
    calendar: WorkingCalendar,
) -> SessionChange | None:
    """Seat a paid candidate (once). The candidate who completes the minimum starts the
    one-working-week deadline, counted from the later of their payment and now (seed 004)."""
    if request_number in session.candidates:
        return None
    if not session.is_accepting:
        raise NotAllowedNow(
            f"session {session.session_number} takes no more candidates",
            f"الجلسة {session.session_number} لا تستقبل متقدمين جدداً",
        )
    candidates = (*session.candidates, request_number)
    admitted = moved(
        session,
        SESSION_WORKFLOW,
        SessionAction.ADMIT,
        system(SERVICE),
        now,
        why=request_number,
        candidates=candidates,
    )
    if session.status is not SessionStatus.OPEN or len(candidates) < session.minimum:
        return SessionChange(admitted)
    reached_at = max(paid_at, now)
    due = calendar.deadline_after(reached_at, DATE_SLA_WORKING_DAYS)
    complete = moved(
        admitted,
        SESSION_WORKFLOW,
        SessionAction.REACH_MINIMUM,
        system(SERVICE),
        now,
        minimum_reached_at=reached_at,
        date_due_at=due,
    )
    event = ExamSessionMinimumReached(
        session_number=session.session_number,
        exam=session.exam,
        minimum=session.minimum,
        candidates=len(candidates),
        minimum_reached_at=reached_at,
        date_due_at=due,
    )
    return SessionChange(complete, (Raised("exams.session.minimum_reached.v1", event),))


def mark_overdue(session: ExamSession, now: datetime) -> SessionChange | None:
    """One working week passed without a date: recorded once, for staff and operators."""
    if session.overdue_since is not None or not session.is_overdue(now):
        return None
    assert session.minimum_reached_at is not None and session.date_due_at is not None
    overdue = moved(
        session,
        SESSION_WORKFLOW,
        SessionAction.MARK_OVERDUE,
        system(SERVICE),
        now,
        overdue_since=now,
    )
    event = ExamSessionOverdue(
        session_number=session.session_number,
        exam=session.exam,
        candidates=len(session.candidates),
        minimum_reached_at=session.minimum_reached_at,
        date_due_at=session.date_due_at,
    )
    return SessionChange(overdue, (Raised("exams.session.overdue.v1", event),))


def schedule_session(
    session: ExamSession,
    actor: Actor,
    now: datetime,
    *,
    exam_at: datetime,
    venue: LocalizedText | None,
    calendar: WorkingCalendar,
) -> SessionChange:
    """A coordinator sets the date agreed with the granting body: a future working day."""
    # The state and the role first: a date is no use to a session that cannot take one.
    actor.role_for(find_step(SESSION_WORKFLOW, SessionAction.SCHEDULE, session.status))
    errors: list[FieldError] = []
    if exam_at <= now:
        errors.append(
            FieldError(
                "exam_at",
                "The exam must start in the future",
                "يجب أن يكون موعد الامتحان في المستقبل",
                "future_datetime",
            )
        )
    elif (why := calendar.why_closed(calendar.local_date(exam_at))) is not None:
        day = amman_date(exam_at)
        errors.append(
            FieldError(
                "exam_at",
                f"The exam must be on a working day ({day} is a {why} day)"
                if why in ("weekend", "closure")
                else f"The exam must be on a working day ({day}: {why})",
                f"يجب أن يكون موعد الامتحان في يوم عمل ({day} عطلة رسمية)",
                "working_day",
            )
        )
    if errors:
        raise RuleBroken("the exam date is not acceptable", "موعد الامتحان غير مقبول", errors)
    place = venue or session.centre.name
    was_overdue = session.is_overdue(now)
    scheduled = moved(
        session,
        SESSION_WORKFLOW,
        SessionAction.SCHEDULE,
        actor,
        now,
        why="after the deadline" if was_overdue else None,
        exam_at=exam_at,
        venue=place,
        scheduled_at=now,
    )
    event = ExamSessionScheduled(
        session_number=session.session_number,
        exam=session.exam,
        exam_at=exam_at,
        venue=place,
        candidates=list(session.candidates),
        scheduled_at=now,
        was_overdue=was_overdue,
    )
    return SessionChange(scheduled, (Raised("exams.session.scheduled.v1", event),))
