"""The use cases: load a request or a session, let the domain decide, save the result with its
events (`services.common.change`).

The API, the consumers and the sweeper all come here, so that an HTTP action and an event doing
the same thing run the same code. A person's action is one attempt (`PERSON`: a lost race is a
409, they decide again on what they now see); an event's effect is decided again until it lands
(`EVENT`), because the event must be applied whatever else happened meanwhile.

Every event use case answers what normal running brings on its own, as a no-op: a bill of
another service, an event delivered again, a bill cancelled after the withdrawal that asked for
it. A refusal it raises (an `exams:` reference naming no request) is for an event that should
not have come, and the consumer dead-letters it with its reason.

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
from services.common.change import EVENT, PERSON, ChangedMeanwhile, StaleVersion, change
from services.common.clock import Clock
from services.common.errors import DomainError, NotAllowedNow, Unknown
from services.common.mongo import Document
from services.common.outbox import new_events
from services.common.workflow import Actor, TimelineEntry
from services.exams import domain
from services.exams.domain import (
    SERVICE,
    ApplicationForm,
    Catalogue,
    ExamRequest,
    ExamSession,
    Outcome,
    PaymentMade,
    RequestChange,
    SessionChange,
)
from services.exams.store import ExamStore, RequestQuery, SessionQuery

logger = logging.getLogger(__name__)

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

RequestDecision = Callable[[ExamRequest], RequestChange | None]
SessionDecision = Callable[[ExamSession], SessionChange | None]


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
        submitted = domain.submit(
            application,
            self.catalogue,
            request_number=await self.store.new_request_number(now),
            owner=owner,
            now=now,
            payment_due_at=domain.payment_due(self.calendar, now, self.payment_working_days),
        )
        request = submitted.request
        await self.store.add_request(request, self._envelopes(request.request_number, submitted))
        _count("request", (), request.history)
        logger.info("exam request %s submitted", request.request_number)
        return request

    async def withdraw(self, number: str, actor: Actor, why: str | None) -> ExamRequest:
        return await self._act_on_request(
            number, lambda request: domain.withdraw(request, actor, self.now(), why)
        )

    async def created_under(self, key_id: str) -> ExamRequest | None:
        """The request a POST with this `Idempotency-Key` created, if it got stored."""
        return await self.store.request_created_under(key_id)

    # ---- coordinators ------------------------------------------------------------------------

    async def record_attendance(self, number: str, actor: Actor, why: str | None) -> ExamRequest:
        return await self._act_on_request(
            number, lambda request: domain.record_attendance(request, actor, self.now(), why)
        )

    async def record_absence(self, number: str, actor: Actor, why: str | None) -> ExamRequest:
        return await self._act_on_request(
            number, lambda request: domain.record_absence(request, actor, self.now(), why)
        )

    async def record_result(
        self, number: str, actor: Actor, *, outcome: Outcome, score: int | None, note: str | None
    ) -> ExamRequest:
        return await self._act_on_request(
            number,
            lambda request: domain.record_result(
                request, actor, self.now(), outcome=outcome, score=score, note=note
            ),
        )

    async def record_collection(
        self, number: str, actor: Actor, collected_by: str | None
    ) -> ExamRequest:
        return await self._act_on_request(
            number,
            lambda request: domain.record_collection(
                request, actor, self.now(), collected_by=collected_by
            ),
        )

    async def schedule_session(
        self, number: str, actor: Actor, *, exam_at: datetime, venue: LocalizedText | None
    ) -> ExamSession:
        """A coordinator sets the date agreed with the granting body; the candidates follow
        (`on_session_scheduled`)."""
        scheduled = await change(
            load=lambda: self.session(number),
            decide=lambda session: domain.schedule_session(
                session, actor, self.now(), exam_at=exam_at, venue=venue, calendar=self.calendar
            ),
            save=self._save_session,
            attempts=PERSON,
        )
        assert scheduled is not None  # scheduling always moves the session, or is refused
        return scheduled

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
        if await self.store.record_bill(number, bill.payment_reference, bill.e_payment_number):
            return
        # Nothing matched (see `services.common.pending_bill`): decided over the stored request.
        await self._change_request(
            number,
            lambda request: domain.record_bill(
                request, bill.payment_reference, bill.e_payment_number
            ),
        )

    async def on_bill_paid(self, bill: BillPaid) -> None:
        """Seed 004, steps 2 and 3; an official candidate is then seated in a session.

        Paid again, nothing changes; but a request paid and not yet seated (the first delivery
        stopped halfway) is seated now."""
        number = domain.request_number_of(bill.payment_reference)
        if number is None:
            return  # another service's bill
        paid = PaymentMade(bill.e_payment_number, bill.amount_fils, bill.paid_at)
        moved = await self._change_request(
            number, lambda request: domain.record_payment(request, paid, self.now())
        )
        # Nothing to do (paid before): the request as stored, which may still wait for its seat.
        request = moved or await self.request(number)
        if request.needs_a_session:
            await self._seat(request, bill.paid_at)

    async def on_bill_expired(self, bill: BillExpired) -> None:
        """Unpaid in time: the request is cancelled (nothing to do if it moved on)."""
        number = domain.request_number_of(bill.payment_reference)
        if number is not None:
            await self._change_request(number, lambda r: domain.expire(r, self.now()))

    async def on_bill_cancelled(self, bill: BillCancelled) -> None:
        """The bill was cancelled: the request too (after a withdrawal it already is)."""
        number = domain.request_number_of(bill.payment_reference)
        if number is not None:
            await self._change_request(number, lambda r: domain.bill_cancelled(r, self.now()))

    async def on_session_scheduled(self, scheduled: ExamSessionScheduled) -> None:
        """Tell each candidate of a scheduled session its date (one request at a time; the ones
        already told are left alone, so a redelivery finishes an interrupted fan-out).

        A candidate the rules refuse does not stop the others; the event is then dead-lettered
        with every refusal, for an operator (it cannot succeed on a retry)."""
        session = await self.session(scheduled.session_number)
        refused: list[str] = []
        for number in scheduled.candidates:
            try:
                await self._change_request(
                    number, lambda request: domain.schedule(request, session, self.now())
                )
            except ChangedMeanwhile:
                raise  # retried by the consumer; the candidates told so far are no-ops then
            except DomainError as error:
                logger.error(
                    "session %s: cannot schedule %s: %s",
                    session.session_number,
                    number,
                    error.detail,
                )
                refused.append(f"{number}: {error.detail}")
        if refused:
            raise NotAllowedNow(
                f"session {session.session_number}, not scheduled: {'; '.join(refused)}",
                f"تعذر إبلاغ بعض متقدمي الجلسة {session.session_number} بموعدها",
            )

    # ---- the overdue sweeper -----------------------------------------------------------------

    async def mark_overdue(self, document: Document) -> None:
        """Called by the sweeper for a session whose date deadline has come."""
        number = str(document["_id"])
        overdue = await change(
            load=lambda: self.session(number),
            decide=lambda session: domain.mark_overdue(session, self.now()),
            save=self._save_session,
            attempts=EVENT,
        )
        if overdue is not None:
            SESSIONS_OVERDUE.inc()
            logger.warning(
                "session %s: no date within one working week (due %s)",
                number,
                overdue.date_due_at,
            )

    async def report_sla(self) -> None:
        """Refresh the gauge of sessions waiting for a date, by SLA."""
        counts = await self.store.sessions_awaiting_date(self.now(), self.sla_nearing)
        for sla, count in counts.items():
            SESSIONS_AWAITING_DATE.labels(sla).set(count)

    # ---- seating a paid official candidate ---------------------------------------------------

    async def _seat(self, request: ExamRequest, paid_at: datetime) -> None:
        """The session admits the request (unless it already holds it), then the request records
        the session's number."""
        number = request.request_number
        session = await self.store.session_holding(number)  # seated before: a redelivery
        if session is None:
            admitted = await change(
                load=lambda: self._accepting_session(request),
                decide=lambda session: domain.admit(
                    session, number, paid_at=paid_at, now=self.now(), calendar=self.calendar
                ),
                save=self._save_session,
                attempts=EVENT,
            )
            # None: a concurrent delivery of the same payment admitted it meanwhile.
            session = admitted or await self.store.session_holding(number)
        assert session is not None
        session_number = session.session_number
        await self._change_request(
            number, lambda request: domain.join_session(request, session_number, self.now())
        )

    async def _accepting_session(self, request: ExamRequest) -> ExamSession:
        """The session of the request's exam now taking candidates, opened if there is none.

        The exam's pointer may name a session that filled up or got its date since: it is then
        dropped, and the change is tried again (`StaleVersion`), which opens the next session."""
        code = request.exam.code
        now = self.now()
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
            session = await self.session(number)  # inserted now, or by whoever raced us
        if not session.is_accepting:
            await self.store.unpoint_accepting(code, number)
            raise StaleVersion(number)
        return session

    # ---- load, decide, save ------------------------------------------------------------------

    async def _act_on_request(self, number: str, decide: RequestDecision) -> ExamRequest:
        """A person's action: one attempt; the domain moves the request or refuses."""
        acted = await change(
            load=lambda: self.request(number),
            decide=decide,
            save=self._save_request,
            attempts=PERSON,
        )
        assert acted is not None  # a person's action always moves the request, or is refused
        return acted

    async def _change_request(self, number: str, decide: RequestDecision) -> ExamRequest | None:
        """An event's effect on a request: decided again until it lands; None if there was
        nothing to do."""
        return await change(
            load=lambda: self.request(number),
            decide=decide,
            save=self._save_request,
            attempts=EVENT,
        )

    async def _save_request(self, before: ExamRequest, decided: RequestChange) -> ExamRequest:
        after = decided.request
        saved = await self.store.save_request(
            after, self._envelopes(after.request_number, decided), decided.documents
        )
        _count("request", before.history, after.history)
        return saved

    async def _save_session(self, before: ExamSession, decided: SessionChange) -> ExamSession:
        after = decided.session
        saved = await self.store.save_session(after, self._envelopes(after.session_number, decided))
        _count("session", before.history, after.history)
        return saved

    def _envelopes(self, subject: str, decided: RequestChange | SessionChange) -> list[CloudEvent]:
        return new_events(decided.events, source_service=SERVICE, subject=subject, time=self.now())


def _count(aggregate: str, before: Sequence[TimelineEntry], after: Sequence[TimelineEntry]) -> None:
    """Count the transitions a stored change appended (one change may append two: a candidate
    admitted who completes the minimum)."""
    for entry in after[len(before) :]:
        TRANSITIONS.labels(aggregate, entry.action).inc()
