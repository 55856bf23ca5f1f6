"""The use cases of the training service: load, let the domain decide, store with the events.

A request changes only through a version-guarded update carrying its events (the outbox), retried
on a conflict. Consumers and the sweeper hand a refusal of the domain to the log and leave the
request as it is (an event that no longer applies); the API turns it into a problem response.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar

from prometheus_client import Gauge

from contracts import (
    Applicant,
    BillCancelled,
    BillExpired,
    BillIssued,
    BillPaid,
    CloudEvent,
    LocalizedText,
    RefundApproved,
    RefundRejected,
)
from services.common.calendar import WorkingCalendar
from services.common.clock import Clock
from services.common.mongo import Document, request_number
from services.common.outbox import new_events
from services.common.problems import Conflict, Invalid, NotFound
from services.common.problems import problem_of as problem
from services.common.uploads import UploadRules
from services.training import domain
from services.training.domain import (
    REQUEST_PREFIX,
    SERVICE,
    Application,
    ApplicationForm,
    Attachment,
    Catalogue,
    Change,
    DomainError,
    InvalidApplication,
    NotAllowedNow,
    TrainingRequest,
)
from services.training.store import StaleVersion, TrainingStore, request_from

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ATTEMPTS = 50
REQUEST_NOT_FOUND = ("No such request.", "لا يوجد طلب بهذا الرقم.")

UNDER_REVIEW = Gauge(
    "training_requests_under_review",
    "Training requests waiting for the review, by SLA (within, overdue: 5 working days)",
    ["sla"],
)


def invalid_application(error: InvalidApplication) -> Invalid:
    return Invalid(
        "Some fields of the request are not acceptable.",
        "بعض حقول الطلب غير مقبولة.",
        errors=[e.as_problem_item() for e in error.errors],
    )


async def _retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    for tries in range(MAX_ATTEMPTS):
        try:
            return await attempt()
        except StaleVersion:
            await asyncio.sleep(random.uniform(0, 0.005 * min(tries + 1, 20)))
    raise Conflict("The request is busy; please try again.", "الطلب مشغول، يرجى المحاولة مجدداً.")


class Training:
    def __init__(
        self,
        store: TrainingStore,
        catalogue: Catalogue,
        clock: Clock,
        calendar: WorkingCalendar,
        max_upload_bytes: int,
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        self.clock = clock
        self.calendar = calendar
        self.upload_rules = UploadRules(max_upload_bytes, field="attachment")

    def _events(self, number: str, events: tuple[domain.Event, ...]) -> list[CloudEvent]:
        return new_events(events, source_service=SERVICE, subject=number, time=self.clock.now())

    async def request(self, number: str) -> TrainingRequest:
        request = await self.store.request(number)
        if request is None:
            raise NotFound(*REQUEST_NOT_FOUND)
        return request

    # ---- attachments -----------------------------------------------------------------------

    async def keep_file(
        self, number: str, kind: domain.AttachmentKind, filename: str, data: bytes
    ) -> Attachment:
        """Check the file by its size and bytes, then keep it in GridFS."""
        stored = await self.store.files.keep(
            filename, data, self.upload_rules, {"request_number": number}, fallback="attachment"
        )
        return Attachment(**stored.fields(), kind=kind, uploaded_at=self.clock.now())

    async def attachment_file(self, request: TrainingRequest) -> tuple[bytes, str]:
        data = await self.store.files.read(request.attachment.file_id)
        if data is None:
            raise NotFound("No attachment is stored.", "لا يوجد مرفق محفوظ.")
        return data, request.attachment.content_type

    # ---- submission ------------------------------------------------------------------------

    def check(self, form: ApplicationForm) -> Application:
        try:
            return domain.check_application(form, self.catalogue, self.clock.now())
        except InvalidApplication as error:
            raise invalid_application(error) from error

    async def submit(
        self, owner: str, applicant: Applicant, form: ApplicationForm, filename: str, data: bytes
    ) -> TrainingRequest:
        application = self.check(form)
        now = self.clock.now()
        number = await request_number(self.store.db, REQUEST_PREFIX, now)
        attachment = await self.keep_file(number, application.attachment_kind, filename, data)
        try:
            change = domain.submit(
                number, owner, applicant, application, attachment, now, self.calendar
            )
            await self.store.insert(change.request, self._events(number, change.events))
        except DomainError as error:
            await self.store.files.delete(attachment.file_id)
            raise problem(error) from error
        except BaseException:
            await self.store.files.delete(attachment.file_id)
            raise
        return change.request

    # ---- changes ---------------------------------------------------------------------------

    async def change(
        self,
        number: str,
        decide: Callable[[TrainingRequest], Change | None],
        *,
        refuse: bool = False,
    ) -> TrainingRequest:
        """Apply `decide` with version retries; `refuse`: a domain refusal is a problem response
        (an API call), otherwise the request is left as it is (an event that no longer applies)."""

        async def attempt() -> TrainingRequest:
            request = await self.request(number)
            try:
                change = decide(request)
            except DomainError as error:
                if refuse:
                    raise problem(error) from error
                logger.info("request %s: %s", number, error.detail)
                return request
            if change is None:
                return request
            events = self._events(number, change.events)
            return await self.store.save(request, change.request, change.entries, events)

        return await _retrying(attempt)

    async def flag_attachments(self, number: str, note: LocalizedText, by: str) -> TrainingRequest:
        return await self.change(
            number,
            lambda r: domain.flag_attachments(r, note, self.clock.now(), by, self.calendar),
            refuse=True,
        )

    async def correct_attachments(self, number: str, filename: str, data: bytes) -> TrainingRequest:
        request = await self.request(number)
        if request.status is not domain.Status.AWAITING_CORRECTION:
            raise problem(
                NotAllowedNow(
                    "The attachments are not awaiting a correction.",
                    "المرفقات ليست بانتظار التصويب.",
                )
            )
        kind = request.application.attachment_kind
        attachment = await self.keep_file(number, kind, filename, data)
        try:
            saved = await self.change(
                number,
                lambda r: domain.correct_attachments(
                    r, attachment, self.clock.now(), self.calendar
                ),
                refuse=True,
            )
        except BaseException:
            await self.store.files.delete(attachment.file_id)
            raise
        await self.store.files.delete(request.attachment.file_id)
        return saved

    async def approve(self, number: str, note: str | None, by: str) -> TrainingRequest:
        return await self.change(
            number,
            lambda r: domain.approve(r, self.clock.now(), by, self.calendar, note),
            refuse=True,
        )

    async def reject(self, number: str, reasons: LocalizedText, by: str) -> TrainingRequest:
        return await self.change(
            number, lambda r: domain.reject(r, reasons, self.clock.now(), by), refuse=True
        )

    async def record_attendance(
        self, number: str, attended: bool, note: str | None, by: str
    ) -> TrainingRequest:
        def decide(request: TrainingRequest) -> Change:
            now = self.clock.now()
            if attended:
                return domain.record_attendance(request, now, by)
            return domain.record_no_show(request, now, by, note)

        return await self.change(number, decide, refuse=True)

    async def postpone(self, number: str, new_start: date) -> TrainingRequest:
        return await self.change(
            number,
            lambda r: domain.postpone(r, new_start, self.clock.now(), self.calendar),
            refuse=True,
        )

    # ---- the sweeper -----------------------------------------------------------------------

    async def on_deadline(self, document: Document) -> None:
        """Sweeper handler on `due_at`: correction expired, postponement not chosen, or the
        period over. The same update moves or clears `due_at`; the version guards it."""
        request = request_from(document)
        await self.change(request.number, lambda r: domain.on_deadline(r, self.clock.now()))
        fresh = await self.request(request.number)
        if fresh.due_at is not None and fresh.due_at <= self.clock.now():
            # Nothing applied (e.g. a state with no deadline action): do not sweep it forever.
            await self.store.requests.update_one(
                {"_id": fresh.number, "version": fresh.version}, {"$set": {"due_at": None}}
            )

    async def report_sla(self) -> None:
        counts = await self.store.count_under_review(self.clock.now())
        for sla, count in counts.items():
            UNDER_REVIEW.labels(sla).set(count)

    # ---- payments --------------------------------------------------------------------------

    async def _ours(self, reference: str, number: str) -> bool:
        if not reference.startswith(f"{SERVICE}:"):
            return False
        if await self.store.request(number) is None:
            logger.warning("payments event %s names no request of this service", reference)
            return False
        return True

    async def on_bill_issued(self, event: CloudEvent, data: BillIssued) -> None:
        """The fee's bill exists: the inquiry shows its e-payment number while it waits."""
        if not await self._ours(data.payment_reference, data.request_number):
            return
        await self.change(
            data.request_number,
            lambda r: domain.record_bill(r, data.payment_reference, data.e_payment_number),
        )

    async def on_bill_paid(self, event: CloudEvent, data: BillPaid) -> None:
        if not await self._ours(data.payment_reference, data.request_number):
            return
        await self.change(
            data.request_number,
            lambda r: domain.pay(
                r, data.e_payment_number, data.paid_at, data.amount_fils, self.clock.now()
            ),
        )

    async def on_bill_ended(self, event: CloudEvent, data: BillExpired | BillCancelled) -> None:
        """Note 2: the bill can no longer be paid (expired, or withdrawn): cancelled, once."""
        if not await self._ours(data.payment_reference, data.request_number):
            return
        await self.change(data.request_number, lambda r: domain.expire_payment(r, self.clock.now()))

    async def on_refund_decided(
        self, event: CloudEvent, data: RefundApproved | RefundRejected
    ) -> None:
        if not await self._ours(data.refund_reference, data.request_number):
            return
        approved = isinstance(data, RefundApproved)

        def decide(request: TrainingRequest) -> Change | None:
            updated = domain.refund_decided(request, data.refund_reference, approved)
            return None if updated is None else Change(updated)

        await self.change(data.request_number, decide)
