"""The use cases of the courses service: load, let the domain decide, store with the events.

Counts live on the course document and change only through a version-guarded update, retried on a
conflict; a request changes the same way. The requests of a course are brought up to date with it
(`sync_course`) right after the change that needs it and, as the backstop, by the sweeper on the
course's `sync_at`: each move is guarded by the request's own state, so a second run changes
nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from contracts import Applicant, BillCancelled, BillExpired, BillIssued, BillPaid, CloudEvent
from services.common.clock import Clock
from services.common.mongo import Document, request_number
from services.common.outbox import new_events
from services.common.problems import Conflict, NotFound
from services.common.problems import problem_of as problem
from services.common.uploads import UploadRules
from services.courses import domain
from services.courses.domain import (
    COURSE_PREFIX,
    REQUEST_PREFIX,
    SERVICE,
    Change,
    Course,
    CourseChange,
    CourseRequest,
    CourseStatus,
    DomainError,
)
from services.courses.settings import CoursesSettings
from services.courses.store import CourseStore, StaleVersion, course_from, request_from

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ATTEMPTS = 200
COURSE_NOT_FOUND = ("No such course.", "لا توجد دورة بهذا الرمز.")
REQUEST_NOT_FOUND = ("No such request.", "لا يوجد طلب بهذا الرقم.")


async def _retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt` until it does not meet a newer version (optimistic concurrency)."""
    for tries in range(MAX_ATTEMPTS):
        try:
            return await attempt()
        except StaleVersion:
            await asyncio.sleep(random.uniform(0, 0.005 * min(tries + 1, 20)))
    raise Conflict(
        "The course is busy; please try again.", "الدورة مشغولة بطلبات أخرى، يرجى المحاولة مجدداً."
    )


class Courses:
    def __init__(self, store: CourseStore, clock: Clock, settings: CoursesSettings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        # An empty file is refused as not a PDF, PNG or JPEG (no rule of its own).
        self.upload_rules = UploadRules(settings.courses_max_upload_bytes, empty_rule=None)

    def _events(self, number: str, events: tuple[domain.Event, ...]) -> list[CloudEvent]:
        return new_events(events, source_service=SERVICE, subject=number, time=self.clock.now())

    # ---- courses ---------------------------------------------------------------------------

    async def course(self, code: str) -> Course:
        course = await self.store.course(code)
        if course is None:
            raise NotFound(*COURSE_NOT_FOUND)
        return course

    async def create_course(self, draft: Course, by: str) -> Course:
        now = self.clock.now()
        code = await request_number(self.store.db, COURSE_PREFIX, now)
        try:
            course = domain.new_course(draft.model_copy(update={"code": code}), now, by)
        except DomainError as error:
            raise problem(error) from error
        await self.store.insert_course(course)
        return course

    async def _change_course(self, code: str, decide: Callable[[Course], CourseChange]) -> Course:
        async def attempt() -> Course:
            course = await self.course(code)
            try:
                change = decide(course)
            except DomainError as error:
                raise problem(error) from error
            return await self.store.save_course(course, change.course, change.entries)

        course = await _retrying(attempt)
        await self.sync_now(course.code)
        return course

    async def publish_course(self, code: str, by: str) -> Course:
        return await self._change_course(
            code, lambda course: domain.publish(course, self.clock.now(), by)
        )

    async def reschedule_course(
        self, code: str, starts_at: datetime, reason: str | None, by: str
    ) -> Course:
        return await self._change_course(
            code, lambda course: domain.reschedule(course, starts_at, self.clock.now(), by, reason)
        )

    async def mark_held(self, code: str, evaluation_url: str, by: str) -> Course:
        return await self._change_course(
            code, lambda course: domain.mark_held(course, self.clock.now(), by, evaluation_url)
        )

    async def start_course(self, document: Document) -> None:
        """Sweeper handler on `start_due_at`: postpone (minimum not reached) or start."""
        course = course_from(document)
        change = domain.on_start(course, self.clock.now(), self.settings.courses_postpone_days)
        await self.store.save_course(course, change.course, change.entries)
        await self.sync_now(course.code)

    # ---- requests --------------------------------------------------------------------------

    async def request(self, number: str) -> CourseRequest:
        request = await self.store.request(number)
        if request is None:
            raise NotFound(*REQUEST_NOT_FOUND)
        return request

    async def submit(self, owner: str, course_code: str, applicant: Applicant) -> CourseRequest:
        course = await self.store.course(course_code)
        if course is None or course.status is CourseStatus.DRAFT:
            raise NotFound(*COURSE_NOT_FOUND)
        now = self.clock.now()
        number = await request_number(self.store.db, REQUEST_PREFIX, now)
        change = domain.submit(number, owner, course, applicant, now)
        # The request exists before it takes a seat, so that the sync never meets a seat whose
        # request it cannot read; its first event is staged only once the seat is taken.
        await self.store.insert_request(change.request)

        async def take_seat() -> Course:
            current = await self.course(course_code)
            seated = domain.enrol(current, number, owner, self.clock.now())
            return await self.store.save_course(current, seated.course, seated.entries)

        try:
            await _retrying(take_seat)
        except DomainError as error:
            await self.store.delete_request(number)
            raise problem(error) from error
        except BaseException:
            await self.store.delete_request(number)
            raise
        await self.store.seated(number, self._events(number, change.events))
        await self.sync_now(course_code)
        return await self.request(number)

    async def finish_submission(self, request: CourseRequest) -> CourseRequest:
        """A request a retried POST found stored under its idempotency key: if its submission
        was cut short (the process died before it took its seat or staged its event), finish it
        now as the first attempt would have, or refuse it as that attempt would have (and remove
        it) when the seat is no longer there."""
        if request.seat_check_at is None:
            return request
        number = request.number

        async def take_seat() -> Course:
            current = await self.course(request.course_code)
            if number in current.enrolled:
                return current
            seated = domain.enrol(current, number, request.owner_subject, self.clock.now())
            return await self.store.save_course(current, seated.course, seated.entries)

        try:
            course = await _retrying(take_seat)
        except DomainError as error:
            await self.store.delete_request(number)
            raise problem(error) from error
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
        self, number: str, passed: bool, note: str | None, by: str
    ) -> CourseRequest:
        def decide(request: CourseRequest, course: Course) -> Change:
            return domain.record_placement_result(
                request, course, passed, self.clock.now(), by, note
            )

        return await self._change_request(number, decide, refuse=True)

    async def _change_request(
        self,
        number: str,
        decide: Callable[[CourseRequest, Course], Change | None],
        *,
        refuse: bool = False,
    ) -> CourseRequest:
        """Apply `decide` with version retries; `refuse`: a domain refusal is a problem response
        (an API call), otherwise the request is left as it is (an event that no longer applies)."""

        async def attempt() -> tuple[CourseRequest, Change | None]:
            request = await self.request(number)
            course = await self.course(request.course_code)
            try:
                change = decide(request, course)
            except DomainError as error:
                if refuse:
                    raise problem(error) from error
                logger.info("request %s: %s", number, error.detail)
                return request, None
            if change is None:
                return request, None
            if change.records_pass and course.prerequisite is not None:
                # Before the request moves on: a pass is a fact about the person, and recording it
                # first means no crash can leave a passed request whose pass is forgotten.
                await self.store.record_pass(
                    self._person(request), course.prerequisite.subject_code, request.number,
                    self.clock.now(),
                )  # fmt: skip
            saved = await self._save(request, change)
            return saved, change

        request, change = await _retrying(attempt)
        if change is not None:
            await self._after(request, change)
        return request

    async def _save(self, request: CourseRequest, change: Change) -> CourseRequest:
        events = self._events(request.number, change.events)
        return await self.store.save_request(request, change.request, change.entries, events)

    async def _after(self, request: CourseRequest, change: Change) -> None:
        # A crash before this leaves the seat taken until the course's next sync, which gives
        # back the seats of refused and cancelled requests.
        if change.releases_seat:
            await self._release_seat(request)

    async def _release_seat(self, request: CourseRequest) -> None:
        async def attempt() -> None:
            course = await self.course(request.course_code)
            released = domain.release_seat(course, request.number, request.owner_subject)
            if released is not None:
                await self.store.save_course(course, released)

        await _retrying(attempt)

    @staticmethod
    def _person(request: CourseRequest) -> str:
        # A pass belongs to the person (national or personal number), not to the login.
        return request.applicant.national_id or f"sub-{request.owner_subject}"

    # ---- proof of prior knowledge ----------------------------------------------------------

    async def attach_proof(self, number: str, filename: str, data: bytes) -> CourseRequest:
        """Check the file by its bytes and size, keep it, and put it on the request."""
        stored = await self.store.proofs.keep(
            filename, data, self.upload_rules, {"request_number": number}, fallback="proof"
        )
        proof = domain.Proof(**stored.fields(), uploaded_at=self.clock.now())

        def decide(request: CourseRequest, course: Course) -> Change:
            return domain.attach_proof(request, course, proof, self.clock.now())

        try:
            return await self._change_request(number, decide, refuse=True)
        except BaseException:
            await self.store.proofs.delete(stored.file_id)
            raise

    async def review_proof(
        self, number: str, accepted: bool, note: str | None, by: str
    ) -> CourseRequest:
        def decide(request: CourseRequest, course: Course) -> Change:
            return domain.review_proof(request, course, accepted, self.clock.now(), by, note)

        return await self._change_request(number, decide, refuse=True)

    async def proof_file(self, request: CourseRequest) -> tuple[bytes, str]:
        if request.proof is None:
            raise NotFound("No proof is attached.", "لا يوجد إثبات مرفق.")
        data = await self.store.proofs.read(request.proof.file_id)
        if data is None:
            raise NotFound("No proof is attached.", "لا يوجد إثبات مرفق.")
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

            await self._change_request(number, decide)
        await self.store.clear_sync(course)

    # ---- payments --------------------------------------------------------------------------

    async def _is_ours(self, reference: str, number: str) -> bool:
        if not reference.startswith(f"{SERVICE}:"):
            return False
        if await self.store.request(number) is None:
            logger.warning("bill %s names no request of this service", reference)
            return False
        return True

    async def on_bill_issued(self, event: CloudEvent, data: BillIssued) -> None:
        """The fee's bill exists: the inquiry shows its e-payment number while it waits."""
        if not await self._is_ours(data.payment_reference, data.request_number):
            return

        def decide(request: CourseRequest, course: Course) -> Change | None:
            return domain.record_bill(request, data.payment_reference, data.e_payment_number)

        await self._change_request(data.request_number, decide)

    async def on_bill_paid(self, event: CloudEvent, data: BillPaid) -> None:
        if not await self._is_ours(data.payment_reference, data.request_number):
            return

        def decide(request: CourseRequest, course: Course) -> Change | None:
            return domain.pay(
                request, course, data.e_payment_number, data.paid_at, data.amount_fils,
                self.clock.now(),
            )  # fmt: skip

        await self._change_request(data.request_number, decide)

    async def on_bill_ended(self, event: CloudEvent, data: BillExpired | BillCancelled) -> None:
        """The bill can no longer be paid (expired, or withdrawn): the request is cancelled."""
        if not await self._is_ours(data.payment_reference, data.request_number):
            return

        def decide(request: CourseRequest, course: Course) -> Change | None:
            if request.status is not domain.RequestStatus.AWAITING_PAYMENT:
                return None
            return domain.cancel(request, course, self.clock.now(), bill_withdrawn=True)

        await self._change_request(data.request_number, decide)
