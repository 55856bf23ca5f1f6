"""The use cases of the courses service: load, let the domain decide, store with the events.

Every change goes through the one change loop (`services.common.change`): decided on a loaded
version, written only over it. Counts live on the course document; a request changes the same
way. Who asked sets how a lost race ends:

- a person's action on a request (a placement result, a proof and its review) is decided on what
  they saw: one attempt (`PERSON`), then 409;
- taking a seat, and a staff action on a course, are retried (`EVENT`): the course document is
  changed by every enrolment, and neither the citizen asking for a seat nor the admin moving the
  date decided on the seat count; the domain checks its rules again on the course reloaded;
- an event, a sweep and the sync are applied whatever happened meanwhile (`EVENT`).

The requests of a course are brought up to date with it (`sync_course`) right after the change
that needs it and, as the backstop, by the sweeper on the course's `sync_at`: each move is guarded
by the request's own state, so a second run changes nothing.

Events in (bills of payments): what normal running brings (a bill of another service, a
redelivery, a bill paid after the request was cancelled) is answered here, as nothing to do or a
move of its own; a bill naming no request of this service raises `Unknown`, and the consumer
dead-letters it (`services.common.consumer.TypedHandler`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from contracts import (
    Applicant,
    BillCancelled,
    BillExpired,
    BillIssued,
    BillPaid,
    CloudEvent,
    reference_parts,
)
from services.common.change import EVENT, PERSON, change
from services.common.clock import Clock
from services.common.files import UploadRules
from services.common.mongo import Document
from services.common.outbox import new_events
from services.courses import domain
from services.courses.domain import (
    SERVICE,
    Actor,
    Change,
    Course,
    CourseRequest,
    CourseStatus,
    RequestStatus,
    Unknown,
)
from services.courses.settings import CoursesSettings
from services.courses.store import CourseStore, course_from, request_from

logger = logging.getLogger(__name__)

COURSE_NOT_FOUND = ("No such course.", "لا توجد دورة بهذا الرمز.")
REQUEST_NOT_FOUND = ("No such request.", "لا يوجد طلب بهذا الرقم.")
NO_PROOF = ("No proof is attached.", "لا يوجد إثبات مرفق.")

# A request and its course, as loaded together for a change of the request.
Loaded = tuple[CourseRequest, Course]
RequestDecision = Callable[[CourseRequest, Course], Change | None]


class Courses:
    def __init__(self, store: CourseStore, clock: Clock, settings: CoursesSettings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        # An empty file is refused as not a PDF, PNG or JPEG (no rule of its own).
        self.upload_rules = UploadRules(settings.courses_max_upload_bytes, empty_rule=None)

    def _events(self, number: str, events: Sequence[domain.Raised]) -> list[CloudEvent]:
        return new_events(events, source_service=SERVICE, subject=number, time=self.clock.now())

    # ---- courses ---------------------------------------------------------------------------

    async def course(self, code: str) -> Course:
        course = await self.store.course(code)
        if course is None:
            raise Unknown(*COURSE_NOT_FOUND)
        return course

    async def visible_course(self, code: str, *, is_staff: bool) -> Course:
        """A course as a reader may see it: a draft only by staff (anyone else: no such course)."""
        course = await self.course(code)
        if course.status is CourseStatus.DRAFT and not is_staff:
            raise Unknown(*COURSE_NOT_FOUND)
        return course

    async def catalogue(self, *, is_staff: bool, skip: int, limit: int) -> tuple[list[Course], int]:
        """The courses open to requests or confirmed; staff also see drafts and held ones."""
        statuses = [CourseStatus.OPEN, CourseStatus.CONFIRMED]
        if is_staff:
            statuses += [CourseStatus.DRAFT, CourseStatus.HELD]
        return await self.store.list_courses(statuses, skip, limit)

    async def create_course(self, draft: Course, actor: Actor) -> Course:
        now = self.clock.now()
        code = await self.store.new_course_code(now)
        course = domain.new_course(draft.model_copy(update={"code": code}), now, actor)
        await self.store.insert_course(course)
        return course

    async def _change_course(self, code: str, decide: Callable[[Course], Course | None]) -> Course:
        """A staff action on a course: retried on a lost race (see the module docstring)."""
        saved = await change(
            load=lambda: self.course(code),
            decide=decide,
            save=self.store.save_course,
            attempts=EVENT,
        )
        await self.sync_now(code)
        return saved if saved is not None else await self.course(code)

    async def publish_course(self, code: str, actor: Actor) -> Course:
        return await self._change_course(
            code, lambda course: domain.publish(course, self.clock.now(), actor)
        )

    async def reschedule_course(
        self, code: str, starts_at: datetime, reason: str | None, actor: Actor
    ) -> Course:
        return await self._change_course(
            code,
            lambda course: domain.reschedule(course, starts_at, self.clock.now(), actor, reason),
        )

    async def mark_held(self, code: str, evaluation_url: str, actor: Actor) -> Course:
        return await self._change_course(
            code, lambda course: domain.mark_held(course, self.clock.now(), actor, evaluation_url)
        )

    async def start_course(self, document: Document) -> None:
        """Sweeper handler on `start_due_at`: postpone (minimum not reached) or start."""
        code = course_from(document).code
        postpone_days = self.settings.courses_postpone_days
        await change(
            load=lambda: self.course(code),
            decide=lambda course: domain.on_start(course, self.clock.now(), postpone_days),
            save=self.store.save_course,
            attempts=EVENT,
        )
        await self.sync_now(code)

    # ---- requests --------------------------------------------------------------------------

    async def request(self, number: str) -> CourseRequest:
        request = await self.store.request(number)
        if request is None:
            raise Unknown(*REQUEST_NOT_FOUND)
        return request

    async def requests_of(self, owner: str, *, skip: int, limit: int) -> tuple[list[Loaded], int]:
        """A citizen's own requests, newest first, each with its course: one page, and the
        total."""
        found, total = await self.store.requests_of_owner(owner, skip, limit)
        return [(request, await self.course(request.course_code)) for request in found], total

    async def requests_of_course(
        self, code: str, status: RequestStatus | None, *, skip: int, limit: int
    ) -> tuple[Course, list[CourseRequest], int, dict[str, int]]:
        """A course's requests (of `status`, if given), in the order they came: the course, one
        page, their total, and the count of every status."""
        course = await self.course(code)
        found, total = await self.store.requests_of_course(code, status, skip, limit)
        counted = await self.store.status_counts(code)
        counts = {state.value: counted.get(state.value, 0) for state in RequestStatus}
        return course, found, total, counts

    async def _take_seat(self, code: str, number: str, owner: str) -> Course:
        """Seat request `number` in its course (nothing to do if it holds its seat already).

        A seat rush is the hot case of the course document: every clash is another citizen's
        seat taken, so it is retried like an event's effect, not answered 409."""
        seated = await change(
            load=lambda: self.course(code),
            decide=lambda course: domain.enrol(course, number, owner, self.clock.now()),
            save=self.store.save_course,
            attempts=EVENT,
        )
        return seated if seated is not None else await self.course(code)

    async def submit(self, owner: Actor, course_code: str, applicant: Applicant) -> CourseRequest:
        course = await self.store.course(course_code)
        if course is None or course.status is CourseStatus.DRAFT:
            raise Unknown(*COURSE_NOT_FOUND)
        now = self.clock.now()
        number = await self.store.new_request_number(now)
        submitted = domain.submit(number, owner, course, applicant, now)
        # The request exists before it takes a seat, so that the sync never meets a seat whose
        # request it cannot read; its first event is staged only once the seat is taken.
        await self.store.insert_request(submitted.request)
        try:
            await self._take_seat(course_code, number, owner.subject)
        except BaseException:
            await self.store.delete_request(number)
            raise
        await self.store.seated(number, self._events(number, submitted.events))
        await self.sync_now(course_code)
        return await self.request(number)

    async def submission_under(self, key_id: str) -> CourseRequest | None:
        """The request a POST with this idempotency key created, its submission finished (see
        `finish_submission`); None if it never got stored."""
        found = await self.store.request_created_under(key_id)
        return None if found is None else await self.finish_submission(found)

    async def finish_submission(self, request: CourseRequest) -> CourseRequest:
        """A request a retried POST found stored under its idempotency key: if its submission
        was cut short (the process died before it took its seat or staged its event), finish it
        now as the first attempt would have, or refuse it as that attempt would have (and remove
        it) when the seat is no longer there."""
        if request.seat_check_at is None:
            return request
        number = request.number
        try:
            course = await self._take_seat(request.course_code, number, request.owner_subject)
        except domain.DomainError:
            await self.store.delete_request(number)
            raise
        event = domain.submitted_event(request, course)
        await self.store.seated(number, self._events(number, (event,)))
        await self.sync_now(request.course_code)
        return await self.request(number)

    async def check_seat(self, document: Document) -> None:
        """Sweeper handler on `seat_check_at`: a request whose submission was cut short (the
        process died between storing it and taking its seat, or before staging its event)."""
        request = request_from(document)
        course = await self.course(request.course_code)
        if request.number in course.enrolled:
            event = domain.submitted_event(request, course)
            await self.store.seated(request.number, self._events(request.number, (event,)))
        elif not await self.store.delete_request(request.number):
            # It moved on (and gave its seat back since): only the check is left to clear.
            await self.store.clear_seat_check(request.number)

    async def record_placement_result(
        self, number: str, passed: bool, note: str | None, actor: Actor
    ) -> CourseRequest:
        def decide(request: CourseRequest, course: Course) -> Change:
            return domain.record_placement_result(
                request, course, passed, self.clock.now(), actor, note
            )

        return await self._change_request(number, decide, attempts=PERSON)

    async def _change_request(
        self, number: str, decide: RequestDecision, *, attempts: int
    ) -> CourseRequest:
        """Apply `decide` to the request and its course through the change loop, then give back
        the seat if the change released it. The request as it stands after."""

        async def load() -> Loaded:
            request = await self.request(number)
            return request, await self.course(request.course_code)

        done = await change(
            load=load,
            decide=lambda loaded: decide(*loaded),
            save=self._save,
            attempts=attempts,
        )
        if done is None:
            return await self.request(number)
        saved, decided = done
        # A crash before this leaves the seat taken until the course's next sync, which gives
        # back the seats of refused and cancelled requests.
        if decided.releases_seat:
            await self._release_seat(saved)
        return saved

    async def _save(self, loaded: Loaded, decided: Change) -> tuple[CourseRequest, Change]:
        request, course = loaded
        if decided.records_pass and course.prerequisite is not None:
            # Before the request moves on: a pass is a fact about the person, and recording it
            # first means no crash can leave a passed request whose pass is forgotten.
            await self.store.record_pass(
                self._person(request), course.prerequisite.subject_code, request.number,
                self.clock.now(),
            )  # fmt: skip
        events = self._events(request.number, decided.events)
        saved = await self.store.save_request(request, decided.request, events, decided.documents)
        return saved, decided

    async def _release_seat(self, request: CourseRequest) -> None:
        await change(
            load=lambda: self.course(request.course_code),
            decide=lambda course: domain.release_seat(
                course, request.number, request.owner_subject
            ),
            save=self.store.save_course,
            attempts=EVENT,
        )

    @staticmethod
    def _person(request: CourseRequest) -> str:
        # A pass belongs to the person (national or personal number), not to the login.
        return request.applicant.national_id or f"sub-{request.owner_subject}"

    # ---- proof of prior knowledge ----------------------------------------------------------

    async def attach_proof(
        self, number: str, filename: str, data: bytes, actor: Actor
    ) -> CourseRequest:
        """Check the file by its bytes and size, keep it, and put it on the request."""
        stored = await self.store.proofs.keep(
            filename, data, self.upload_rules, {"request_number": number}, fallback="proof"
        )
        proof = domain.Proof(**stored.fields(), uploaded_at=self.clock.now())

        def decide(request: CourseRequest, course: Course) -> Change:
            return domain.attach_proof(request, course, proof, self.clock.now(), actor)

        try:
            return await self._change_request(number, decide, attempts=PERSON)
        except BaseException:
            await self.store.proofs.delete(stored.file_id)
            raise

    async def review_proof(
        self, number: str, accepted: bool, note: str | None, actor: Actor
    ) -> CourseRequest:
        def decide(request: CourseRequest, course: Course) -> Change:
            return domain.review_proof(request, course, accepted, self.clock.now(), actor, note)

        return await self._change_request(number, decide, attempts=PERSON)

    async def proof_file(self, request: CourseRequest) -> tuple[bytes, str]:
        if request.proof is None:
            raise Unknown(*NO_PROOF)
        data = await self.store.proofs.read(request.proof.file_id)
        if data is None:
            raise Unknown(*NO_PROOF)
        return data, request.proof.content_type

    # ---- bringing requests up to date with their course ------------------------------------

    async def sync_now(self, code: str) -> None:
        """Sync right away after a change; the sweeper on `sync_at` retries if this fails."""
        course = await self.store.course(code)
        if course is None or course.sync_at is None:
            return
        try:
            await self.sync_course(course)
        except Exception:
            logger.warning("course %s: sync failed, the sweeper retries", code, exc_info=True)

    async def sync_from_sweeper(self, document: Document) -> None:
        await self.sync_course(course_from(document))

    async def sync_course(self, course: Course) -> None:
        person_passes: dict[str, bool] = {}
        for number in course.enrolled:
            request = await self.store.request(number)
            if request is None:
                continue
            if request.status in domain.FINAL:
                await self._release_seat(request)
                continue
            person = self._person(request)
            if course.prerequisite is not None and person not in person_passes:
                person_passes[person] = await self.store.has_pass(
                    person, course.prerequisite.subject_code
                )

            has_pass = person_passes.get(person, False)

            def decide(
                current: CourseRequest, fresh: Course, has_pass: bool = has_pass
            ) -> Change | None:
                return domain.sync_request(current, fresh, has_pass, self.clock.now())

            await self._change_request(number, decide, attempts=EVENT)
        await self.store.clear_sync(course)

    # ---- bills (events of payments) --------------------------------------------------------

    async def _bill_of_ours(self, payment_reference: str, number: str) -> bool:
        """Whether a bill is of this service: every service's bills come on this queue, and
        another's is none of ours (nothing to do). One of ours that names no request of ours
        should never come: `Unknown` (dead-lettered with the reason)."""
        parts = reference_parts(payment_reference)
        if parts is None or parts[0] != SERVICE:
            return False
        if await self.store.request(number) is None:
            raise Unknown(
                f"bill {payment_reference} names no request of the courses service ({number})",
                f"الفاتورة {payment_reference} لا تخص أي طلب في خدمة الدورات ({number})",
            )
        return True

    async def bill_issued(self, data: BillIssued) -> None:
        """The fee's bill exists: the inquiry shows its e-payment number while it waits.
        Another bill, or the same one again: nothing to do."""
        parts = reference_parts(data.payment_reference)
        if (
            parts is not None
            and parts[0] == SERVICE
            and await self.store.record_bill(
                data.request_number, data.payment_reference, data.e_payment_number
            )
        ):
            return
        # Nothing matched (see `services.common.pending_bill`): decided over the stored request.
        if not await self._bill_of_ours(data.payment_reference, data.request_number):
            return

        def decide(request: CourseRequest, course: Course) -> Change | None:
            return domain.record_bill(request, data.payment_reference, data.e_payment_number)

        await self._change_request(data.request_number, decide, attempts=EVENT)

    async def bill_paid(self, data: BillPaid) -> None:
        """7.4: the fee is paid, the booking confirmed. Paid again: nothing to do; paid after the
        request was cancelled: the money goes back (a refund is requested, once)."""
        if not await self._bill_of_ours(data.payment_reference, data.request_number):
            return

        def decide(request: CourseRequest, course: Course) -> Change | None:
            return domain.pay(
                request, course, data.e_payment_number, data.paid_at, data.amount_fils,
                self.clock.now(),
            )  # fmt: skip

        await self._change_request(data.request_number, decide, attempts=EVENT)

    async def bill_ended(self, data: BillExpired | BillCancelled) -> None:
        """The bill can no longer be paid (expired, or withdrawn): a request still awaiting the
        fee is cancelled; any other (paid meanwhile, cancelled already): nothing to do."""
        if not await self._bill_of_ours(data.payment_reference, data.request_number):
            return

        def decide(request: CourseRequest, course: Course) -> Change | None:
            if request.status is not RequestStatus.AWAITING_PAYMENT:
                return None
            return domain.cancel(request, course, self.clock.now(), bill_withdrawn=True)

        await self._change_request(data.request_number, decide, attempts=EVENT)
