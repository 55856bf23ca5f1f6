"""The use cases of the training service: load, let the domain decide, save with the events.

Every change goes through the shared change loop (`services.common.change`): the request is
written only over the version it was decided on, with its events (the outbox). A person's action
is tried once (a lost race is `ChangedMeanwhile`, 409); an event's or the sweeper's is decided
again on the new version. A refusal is a `DomainError` (the API answers it with its problem; a
consumer dead-letters it): the payments events answer what they meet in normal running (another
service's bill, a redelivery, a bill that no longer applies) as no-ops, and refuse only an event
that should not have come (a reference of ours naming no request of ours).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

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
    reference_parts,
)
from services.common.calendar import WorkingCalendar
from services.common.change import EVENT, PERSON, change
from services.common.clock import Clock
from services.common.errors import NotAllowedNow, RuleBroken, Unknown
from services.common.files import UploadRules
from services.common.mongo import Document
from services.common.outbox import new_events
from services.common.workflow import Actor, Raised
from services.training import domain
from services.training.domain import (
    SERVICE,
    Application,
    ApplicationForm,
    Attachment,
    Catalogue,
    Change,
    Status,
    TrainingRequest,
)
from services.training.store import TrainingStore, request_from

REQUEST_NOT_FOUND = ("No such request.", "لا يوجد طلب بهذا الرقم.")

UNDER_REVIEW = Gauge(
    "training_requests_under_review",
    "Training requests waiting for the review, by SLA (within, overdue: 5 working days)",
    ["sla"],
)

Decide = Callable[[TrainingRequest], Change | None]


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

    def _events(self, number: str, events: tuple[Raised, ...]) -> list[CloudEvent]:
        return new_events(events, source_service=SERVICE, subject=number, time=self.clock.now())

    async def request(self, number: str) -> TrainingRequest:
        request = await self.store.request(number)
        if request is None:
            raise Unknown(*REQUEST_NOT_FOUND)
        return request

    # ---- lists -----------------------------------------------------------------------------

    async def requests_of(
        self, owner: str, *, skip: int, limit: int
    ) -> tuple[list[TrainingRequest], int]:
        return await self.store.of_owner(owner, skip=skip, limit=limit)

    async def staff_list(
        self, status: Status | None, overdue: bool, *, skip: int, limit: int
    ) -> tuple[list[TrainingRequest], int]:
        now = self.clock.now() if overdue else None
        return await self.store.staff_list(status, now, skip=skip, limit=limit)

    async def review_counts(self) -> dict[str, int]:
        """Requests under review, within their SLA and overdue."""
        return await self.store.count_under_review(self.clock.now())

    async def created_under(self, key_id: str) -> TrainingRequest | None:
        """The request a submission with this idempotency key id created, if any."""
        return await self.store.request_created_under(key_id)

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
            raise Unknown("No attachment is stored.", "لا يوجد مرفق محفوظ.")
        return data, request.attachment.content_type

    # ---- letters ---------------------------------------------------------------------------

    async def letter_pdf(
        self, document_id: str | None, missing: tuple[str, str]
    ) -> tuple[str, bytes]:
        """A request's letter (its current version): its file name and its PDF, as issued.
        `Unknown` (with
        `missing`) if the request has none; `NotAllowedNow` in the moment between the step
        and the issue (the issuer renders it within seconds)."""
        if document_id is None:
            raise Unknown(*missing)
        found = await self.store.letter(document_id)
        if found is None:
            raise NotAllowedNow(
                "The letter is being issued; try again in a few seconds.",
                "يجري إصدار الكتاب؛ يرجى المحاولة بعد ثوانٍ.",
            )
        record, data = found
        return str(record["filename"]), data

    # ---- submission ------------------------------------------------------------------------

    def check(self, form: ApplicationForm) -> Application:
        """Every rule of the form (`InvalidApplication` names all bad fields)."""
        return domain.check_application(form, self.catalogue, self.clock.now())

    async def submit(
        self, actor: Actor, applicant: Applicant, form: ApplicationForm, filename: str, data: bytes
    ) -> TrainingRequest:
        """A new request of `actor` (its owner), with its attachment."""
        application = self.check(form)
        now = self.clock.now()
        number = await self.store.new_number(now)
        attachment = await self.keep_file(number, application.attachment_kind, filename, data)
        try:
            created = domain.submit(
                number, actor, applicant, application, attachment, now, self.calendar
            )
            await self.store.insert(created.request, self._events(number, created.events))
        except BaseException:
            await self.store.files.delete(attachment.file_id)
            raise
        return created.request

    # ---- changes ---------------------------------------------------------------------------

    async def _change(
        self, number: str, decide: Decide, *, attempts: int
    ) -> TrainingRequest | None:
        """`decide` over the stored request, saved with its events (see the module docstring);
        None if it decided there is nothing to do."""

        async def save(before: TrainingRequest, decided: Change) -> TrainingRequest:
            events = self._events(number, decided.events)
            return await self.store.save(before, decided.request, events, decided.documents)

        return await change(lambda: self.request(number), decide, save, attempts=attempts)

    async def _by_person(self, number: str, decide: Decide) -> TrainingRequest:
        """A person's action: one attempt; the request as it now is."""
        saved = await self._change(number, decide, attempts=PERSON)
        return saved if saved is not None else await self.request(number)

    async def flag_attachments(
        self, number: str, note: LocalizedText, actor: Actor
    ) -> TrainingRequest:
        return await self._by_person(
            number,
            lambda r: domain.flag_attachments(r, note, self.clock.now(), actor, self.calendar),
        )

    async def correct_attachments(
        self, number: str, actor: Actor, filename: str, data: bytes
    ) -> TrainingRequest:
        request = await self.request(number)
        if request.status is not Status.AWAITING_CORRECTION:
            raise NotAllowedNow(
                "The attachments are not awaiting a correction.",
                "المرفقات ليست بانتظار التصويب.",
            )
        kind = request.application.attachment_kind
        attachment = await self.keep_file(number, kind, filename, data)
        try:
            saved = await self._by_person(
                number,
                lambda r: domain.correct_attachments(
                    r, attachment, actor, self.clock.now(), self.calendar
                ),
            )
        except BaseException:
            await self.store.files.delete(attachment.file_id)
            raise
        await self.store.files.delete(request.attachment.file_id)
        return saved

    async def approve(self, number: str, note: str | None, actor: Actor) -> TrainingRequest:
        return await self._by_person(
            number, lambda r: domain.approve(r, self.clock.now(), actor, self.calendar, note)
        )

    async def reject(self, number: str, reasons: LocalizedText, actor: Actor) -> TrainingRequest:
        return await self._by_person(
            number, lambda r: domain.reject(r, reasons, self.clock.now(), actor)
        )

    async def record_attendance(
        self, number: str, attended: bool, note: str | None, actor: Actor
    ) -> TrainingRequest:
        def decide(request: TrainingRequest) -> Change:
            now = self.clock.now()
            if attended:
                return domain.record_attendance(request, now, actor)
            return domain.record_no_show(request, now, actor, note)

        return await self._by_person(number, decide)

    async def postpone(self, number: str, new_start: date, actor: Actor) -> TrainingRequest:
        return await self._by_person(
            number,
            lambda r: domain.postpone(r, new_start, actor, self.clock.now(), self.calendar),
        )

    # ---- the sweeper -----------------------------------------------------------------------

    async def on_deadline(self, document: Document) -> None:
        """Sweeper handler on `due_at`: correction expired, postponement not chosen, or the
        period over; a deadline with nothing to do is cleared. The version guards it."""
        number = request_from(document).number
        await self._change(
            number, lambda r: domain.on_deadline(r, self.clock.now()), attempts=EVENT
        )

    async def report_sla(self) -> None:
        counts = await self.review_counts()
        for sla, count in counts.items():
            UNDER_REVIEW.labels(sla).set(count)

    # ---- payments --------------------------------------------------------------------------

    async def _ours(self, reference: str, number: str) -> bool:
        """Whether a bill or refund is one of ours: False for another service's (a no-op);
        a reference of ours that names another request, or no request, should not have come
        (`RuleBroken`, `Unknown`: dead-lettered)."""
        parts = reference_parts(reference)
        if parts is None or parts[0] != SERVICE:
            return False
        if parts[1] != number:
            raise RuleBroken(
                f"The reference {reference} is not of the request {number}.",
                f"المرجع {reference} لا يخص الطلب {number}.",
            )
        await self.request(number)
        return True

    async def _on_payments(self, reference: str, number: str, decide: Decide) -> None:
        if await self._ours(reference, number):
            await self._change(number, decide, attempts=EVENT)

    async def on_bill_issued(self, data: BillIssued) -> None:
        """The fee's bill exists: the inquiry shows its e-payment number while it waits."""
        parts = reference_parts(data.payment_reference)
        if (
            parts is not None
            and parts[0] == SERVICE
            and parts[1] == data.request_number
            and await self.store.record_bill(
                data.request_number, data.payment_reference, data.e_payment_number
            )
        ):
            return
        # Nothing matched (see `services.common.pending_bill`): decided over the stored request.
        await self._on_payments(
            data.payment_reference,
            data.request_number,
            lambda r: domain.record_bill(r, data.payment_reference, data.e_payment_number),
        )

    async def on_bill_paid(self, data: BillPaid) -> None:
        await self._on_payments(
            data.payment_reference,
            data.request_number,
            lambda r: domain.pay(
                r, data.e_payment_number, data.paid_at, data.amount_fils, self.clock.now()
            ),
        )

    async def on_bill_ended(self, data: BillExpired | BillCancelled) -> None:
        """Note 2: the bill can no longer be paid (expired, or withdrawn): cancelled, once."""
        await self._on_payments(
            data.payment_reference,
            data.request_number,
            lambda r: domain.expire_payment(r, self.clock.now()),
        )

    async def on_refund_decided(self, data: RefundApproved | RefundRejected) -> None:
        approved = isinstance(data, RefundApproved)
        await self._on_payments(
            data.refund_reference,
            data.request_number,
            lambda r: domain.refund_decided(r, data.refund_reference, approved),
        )
