"""The use cases: load a request or a session, let the domain decide, store the result with its
events.

The API, the consumers and the sweeper all come here, so that an HTTP action and an event doing
the same thing run the same code. Concurrency is optimistic: a change is written only over the
version it was decided on. A person's action that loses such a race is answered 409 (they read
the new state and decide again); an event's effect is reloaded and decided again, because the
event must be applied whatever else happened meanwhile.

Two aggregates meet in one place: a paid official request is seated in its exam's session. The
request is moved first (paid: no withdrawal can race the seat any more), then the session admits
it, then the request records the session's number. Each step is idempotent, so the redelivered
`payments.bill.paid.v1` after a crash finishes what the first delivery started. Scheduling fans
out the other way: the session's own `exams.session.scheduled.v1` moves each candidate's request.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from prometheus_client import Counter, Gauge

from contracts import BillCancelled, BillExpired, BillIssued, BillPaid, CloudEvent, LocalizedText
from contracts.exams import ExamSessionScheduled
from services.common.calendar import WorkingCalendar
from services.common.clock import Clock
from services.common.mongo import Document
from services.common.outbox import new_events
from services.exams import domain
from services.exams.domain import (
    SERVICE,
    Actor,
    ApplicationForm,
    Catalogue,
    DomainError,
    ExamRequest,
    ExamSession,
    NotAllowedNow,
    Outcome,
    PaymentMade,
    RequestChange,
    SessionChange,
    Unknown,
)
from services.exams.store import ExamStore, RequestQuery, SessionQuery

logger = logging.getLogger(__name__)

# Racing writers on one aggregate: each clash means another writer changed it, so this bounds how
# many concurrent changes an event's effect can lose to, not a wait.
MAX_ATTEMPTS = 20
# A person's action is decided on what they saw: one attempt, then 409.
ONE_ATTEMPT = 1

TRANSITIONS = Counter(
    "exams_transitions_total", "Transitions of exam requests and sessions", ["aggregate", "action"]
)
SESSIONS_OVERDUE = Counter(
    "exams_sessions_overdue_total",
    "Official exam sessions whose date was not set within one working week of their minimum",
)
SESSIONS_AWAITING_DATE = Gauge(
    "exams_sessions_awaiting_date",
    "Official exam sessions waiting for a date, by SLA (within, nearing, overdue)",
    ["sla"],
)


def request_not_found(number: str) -> Unknown:
    return Unknown(f"no exam request {number}", f"لا يوجد طلب امتحان بالرقم {number}")


def session_not_found(number: str) -> Unknown:
    return Unknown(f"no exam session {number}", f"لا توجد جلسة امتحان بالرقم {number}")


class Exams:
    def __init__(
        self,
        store: ExamStore,
        catalogue: Catalogue,
        clock: Clock,
        calendar: WorkingCalendar,
        *,
        payment_working_days: int,
        sla_nearing: timedelta,
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        self.clock = clock
        self.calendar = calendar
        self.payment_working_days = payment_working_days
        self.sla_nearing = sla_nearing

    def now(self) -> datetime:
        """The clock, to the millisecond: what the database keeps."""
        instant = self.clock.now()
        return instant.replace(microsecond=instant.microsecond // 1000 * 1000)

    # ---- the applicant -----------------------------------------------------------------------

    async def submit(self, form: ApplicationForm, owner: Actor) -> ExamRequest:
        """Seed 004, step 1: a confirmed request, and the fee asked of payments."""
        application = domain.check_application(form, self.catalogue)
        now = self.now()
        change = domain.submit(
            application,
            self.catalogue,
            request_number=await self.store.new_request_number(now),
            owner=owner,
            now=now,
            payment_due_at=domain.payment_due(self.calendar, now, self.payment_working_days),
        )
        await self.store.add_request(change.request, self._envelopes(change))
        _count("request", (), change.request.history)
        logger.info("exam request %s submitted", change.request.request_number)
        return change.request

    async def withdraw(self, number: str, actor: Actor, why: str | None) -> ExamRequest:
        return await self._change_request(
            number, lambda r, now: domain.withdraw(r, actor, now, why), ONE_ATTEMPT
        )

    # ---- coordinators ------------------------------------------------------------------------

    async def record_attendance(self, number: str, actor: Actor, why: str | None) -> ExamRequest:
        return await self._change_request(
            number, lambda r, now: domain.record_attendance(r, actor, now, why), ONE_ATTEMPT
        )

    async def record_absence(self, number: str, actor: Actor, why: str | None) -> ExamRequest:
        return await self._change_request(
            number, lambda r, now: domain.record_absence(r, actor, now, why), ONE_ATTEMPT
        )

    async def record_result(
        self, number: str, actor: Actor, *, outcome: Outcome, score: int | None, note: str | None
    ) -> ExamRequest:
        return await self._change_request(
            number,
            lambda r, now: domain.record_result(
                r, actor, now, outcome=outcome, score=score, note=note
            ),
            ONE_ATTEMPT,
        )

    async def record_collection(
        self, number: str, actor: Actor, collected_by: str | None
    ) -> ExamRequest:
        return await self._change_request(
            number,
            lambda r, now: domain.record_collection(r, actor, now, collected_by=collected_by),
            ONE_ATTEMPT,
        )

    async def schedule_session(
        self, number: str, actor: Actor, *, exam_at: datetime, venue: LocalizedText | None
    ) -> ExamSession:
        """A coordinator sets the date agreed with the granting body; the candidates follow."""
        change = await self._apply_to_session(
            number,
            lambda s, now: domain.schedule_session(
                s, actor, now, exam_at=exam_at, venue=venue, calendar=self.calendar
            ),
            ONE_ATTEMPT,
        )
        return change.session

    # ---- reads -------------------------------------------------------------------------------

    async def request(self, number: str) -> ExamRequest:
        request = await self.store.request(number)
        if request is None:
            raise request_not_found(number)
        return request

    async def session_of(self, request: ExamRequest) -> ExamSession | None:
        if request.session_number is not None:
            return await self.store.session(request.session_number)
        if request.status is domain.RequestStatus.AWAITING_SESSION:
            return await self.store.session_holding(request.request_number)
        return None

    async def session(self, number: str) -> ExamSession:
        session = await self.store.session(number)
        if session is None:
            raise session_not_found(number)
        return session

    async def search_requests(
        self,
        query: RequestQuery,
        *,
        session_number: str | None,
        overdue: bool | None,
        skip: int,
        limit: int,
    ) -> tuple[list[ExamRequest], int]:
        """Requests matching `query`; `session_number` and `overdue` go through the sessions,
        whose candidate lists say who waits in them."""
        among: set[str] | None = None
        if session_number is not None:
            session = await self.store.session(session_number)
            among = set(session.candidates) if session else set()
        if overdue:
            waiting = {
                number
                for session in await self.store.overdue_sessions(self.now())
                for number in session.candidates
            }
            among = waiting if among is None else among & waiting
            query = dataclasses.replace(query, status=domain.RequestStatus.AWAITING_SESSION)
        if among is not None:
            query = dataclasses.replace(query, among=sorted(among))
        return await self.store.search_requests(query, skip=skip, limit=limit)

    async def search_sessions(
        self, query: SessionQuery, *, skip: int, limit: int
    ) -> tuple[list[ExamSession], int]:
        return await self.store.search_sessions(query, skip=skip, limit=limit)

    # ---- events in ---------------------------------------------------------------------------

    async def on_bill_issued(self, bill: BillIssued) -> None:
        """The fee's bill exists: the inquiry shows its e-payment number while it waits."""
        number = domain.request_number_of(bill.payment_reference)
        if number is None:
            return  # another service's bill
        await self._change_request(
            number,
            lambda r, now: domain.record_bill(r, bill.payment_reference, bill.e_payment_number),
            MAX_ATTEMPTS,
        )

    async def on_bill_paid(self, bill: BillPaid) -> None:
        """Seed 004, steps 2 and 3; an official candidate is then seated in a session."""
        number = domain.request_number_of(bill.payment_reference)
        if number is None:
            return  # another service's bill
        paid = PaymentMade(bill.e_payment_number, bill.amount_fils, bill.paid_at)
        request = await self._change_request(
            number, lambda r, now: domain.record_payment(r, paid, now), MAX_ATTEMPTS
        )
        if request.needs_a_session:
            await self._seat(request, bill.paid_at)

    async def on_bill_expired(self, bill: BillExpired) -> None:
        number = domain.request_number_of(bill.payment_reference)
        if number is not None:
            await self._change_request(number, domain.expire, MAX_ATTEMPTS)

    async def on_bill_cancelled(self, bill: BillCancelled) -> None:
        number = domain.request_number_of(bill.payment_reference)
        if number is not None:
            await self._change_request(number, domain.bill_cancelled, MAX_ATTEMPTS)

    async def on_session_scheduled(self, scheduled: ExamSessionScheduled) -> None:
        """Tell each candidate of a scheduled session its date (one request at a time; the ones
        already told are left alone, so a redelivery finishes an interrupted fan-out)."""
        session = await self.session(scheduled.session_number)
        failed: list[str] = []
        for number in scheduled.candidates:
            try:
                await self._change_request(
                    number, lambda r, now: domain.schedule(r, session, now), MAX_ATTEMPTS
                )
            except DomainError as error:
                logger.error(
                    "session %s: cannot schedule %s: %s",
                    session.session_number,
                    number,
                    error.detail,
                )
                failed.append(f"{number}: {error.detail}")
        if failed:
            # Retried by the consumer (the others are no-ops then), dead-lettered if it persists.
            raise RuntimeError(f"not scheduled: {'; '.join(failed)}")

    # ---- the overdue sweeper -----------------------------------------------------------------

    async def mark_overdue(self, document: Document) -> None:
        """Called by the sweeper for a session whose date deadline has come."""
        change = await self._apply_to_session(
            str(document["_id"]), domain.mark_overdue, MAX_ATTEMPTS
        )
        if not change.is_noop:
            SESSIONS_OVERDUE.inc()
            logger.warning(
                "session %s: no date within one working week (due %s)",
                change.session.session_number,
                change.session.date_due_at,
            )

    async def report_sla(self) -> None:
        """Refresh the gauge of sessions waiting for a date, by SLA."""
        counts = await self.store.sessions_awaiting_date(self.now(), self.sla_nearing)
        for sla, count in counts.items():
            SESSIONS_AWAITING_DATE.labels(sla).set(count)

    # ---- machinery ---------------------------------------------------------------------------

    async def _seat(self, request: ExamRequest, paid_at: datetime) -> None:
        session = await self.store.session_holding(request.request_number)
        if session is None:
            session = await self._admit(request, paid_at)
        number = session.session_number
        await self._change_request(
            request.request_number,
            lambda r, now: domain.join_session(r, number, now),
            MAX_ATTEMPTS,
        )

    async def _admit(self, request: ExamRequest, paid_at: datetime) -> ExamSession:
        code = request.exam.code
        for _ in range(MAX_ATTEMPTS):
            now = self.now()
            session = await self._accepting_session(request, now)
            try:
                change = domain.admit(
                    session,
                    request.request_number,
                    paid_at=paid_at,
                    now=now,
                    calendar=self.calendar,
                )
            except NotAllowedNow:
                # Full or scheduled since it was named: the next candidate opens a new one.
                await self.store.unpoint_accepting(code, session.session_number)
                continue
            if change.is_noop:
                return session
            if await self.store.save_session(change.session, self._envelopes(change)):
                _count("session", session.history, change.session.history)
                return change.session
        raise NotAllowedNow(
            f"could not seat {request.request_number} in a session; will retry",
            f"تعذر ضم الطلب {request.request_number} إلى جلسة امتحان",
        )

    async def _accepting_session(self, request: ExamRequest, now: datetime) -> ExamSession:
        """The session of the request's exam now taking candidates, opened if there is none."""
        code = request.exam.code
        number = await self.store.accepting_session_number(code)
        if number is None:
            number = await self.store.point_accepting(
                code, await self.store.new_session_number(now)
            )
        session = await self.store.session(number)
        if session is None:
            opened = domain.open_session(request, self.catalogue, number, now)
            if await self.store.add_session(opened):
                _count("session", (), opened.history)
            session = await self.store.session(number)
            assert session is not None  # inserted now, or by whoever raced us
        return session

    async def _change_request(
        self,
        number: str,
        decide: Callable[[ExamRequest, datetime], RequestChange],
        attempts: int,
    ) -> ExamRequest:
        for _ in range(attempts):
            request = await self.store.request(number)
            if request is None:
                raise request_not_found(number)
            change = decide(request, self.now())
            if change.is_noop:
                return change.request
            if await self.store.save_request(change.request, self._envelopes(change)):
                _count("request", request.history, change.request.history)
                return change.request
        raise _changed_meanwhile()

    async def _apply_to_session(
        self,
        number: str,
        decide: Callable[[ExamSession, datetime], SessionChange],
        attempts: int,
    ) -> SessionChange:
        for _ in range(attempts):
            session = await self.store.session(number)
            if session is None:
                raise session_not_found(number)
            change = decide(session, self.now())
            if change.is_noop:
                return change
            if await self.store.save_session(change.session, self._envelopes(change)):
                _count("session", session.history, change.session.history)
                return change
        raise _changed_meanwhile()

    def _envelopes(self, change: RequestChange | SessionChange) -> list[CloudEvent]:
        subject = (
            change.request.request_number
            if isinstance(change, RequestChange)
            else change.session.session_number
        )
        return new_events(change.events, source_service=SERVICE, subject=subject, time=self.now())


def _count(
    aggregate: str, before: Sequence[domain.TimelineEntry], after: Sequence[domain.TimelineEntry]
) -> None:
    """Count the transitions a stored change appended (one change may append two: a candidate
    admitted who completes the minimum)."""
    for entry in after[len(before) :]:
        TRANSITIONS.labels(aggregate, entry.action).inc()


def _changed_meanwhile() -> NotAllowedNow:
    return NotAllowedNow(
        "it was changed by someone else just now; reload it and try again",
        "تم تعديله من قبل مستخدم آخر للتو؛ أعد تحميله وحاول مرة أخرى",
    )
