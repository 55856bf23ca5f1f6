"""The use cases of the licensing service: load, let the domain decide, store with the events.

Every change goes through the shared change loop (`services.common.change`): a version-guarded
save carrying the change's events (the outbox). A person's action is decided on what they saw:
one attempt, then 409 (`ChangedMeanwhile`). An event's effect is decided again on a clash; the
domain returns None for one that no longer applies (a redelivery, an old bill), so it changes
nothing. A `DomainError` raised here for an event is dead-lettered by the consumer: only an event
that should not have come (a bill naming no request of this service) meets one.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from prometheus_client import Counter

from contracts import BillCancelled, BillExpired, BillIssued, BillPaid, CloudEvent
from services.common.calendar import WorkingCalendar
from services.common.change import EVENT, PERSON, change
from services.common.clock import Clock
from services.common.files import UploadRules
from services.common.mongo import Document
from services.common.outbox import new_events
from services.licensing import domain
from services.licensing.domain import (
    SERVICE,
    Actor,
    Application,
    Change,
    LicenceRequest,
    Profession,
    ReferenceData,
    Unknown,
)
from services.licensing.settings import LicensingSettings
from services.licensing.store import LicensingStore

logger = logging.getLogger(__name__)

REQUEST_NOT_FOUND = ("No such request.", "لا يوجد طلب بهذا الرقم.")

TRANSITIONS = Counter("licensing_transitions_total", "Transitions of licence requests", ["action"])
SLA_BREACHES = Counter(
    "licensing_sla_breaches_total",
    "Licence requests that missed the 3-working-day target (counted once each)",
)

Decide = Callable[[LicenceRequest, datetime], Change | None]
Page = tuple[list[LicenceRequest], int]


class Licensing:
    def __init__(
        self,
        store: LicensingStore,
        reference: ReferenceData,
        clock: Clock,
        calendar: WorkingCalendar,
        settings: LicensingSettings,
    ) -> None:
        self.store = store
        self.reference = reference
        self.clock = clock
        self.calendar = calendar
        self.settings = settings
        self.upload_rules = UploadRules(settings.licensing_max_upload_bytes, empty_rule="not_empty")

    def now(self) -> datetime:
        """The clock, to the millisecond: what the database keeps."""
        instant = self.clock.now()
        return instant.replace(microsecond=instant.microsecond // 1000 * 1000)

    def _payment_due(self, now: datetime) -> datetime:
        days = self.settings.licensing_payment_working_days
        return self.calendar.deadline_after(now, days) - timedelta(seconds=1)

    def _events(self, number: str, events: Sequence[domain.Raised]) -> list[CloudEvent]:
        return new_events(events, source_service=SERVICE, subject=number, time=self.now())

    # ---- requests --------------------------------------------------------------------------

    async def request(self, number: str) -> LicenceRequest:
        found = await self.store.request(number)
        if found is None:
            raise Unknown(*REQUEST_NOT_FOUND)
        return found

    async def requests_of(self, owner: str, *, skip: int, limit: int) -> Page:
        """The owner's requests, newest first, and how many they have."""
        return await self.store.requests_of_owner(owner, skip=skip, limit=limit)

    async def requests_in(self, status: str | None, *, skip: int, limit: int) -> Page:
        """The requests in `status` (every open one by default), oldest first."""
        statuses = [status] if status else list(domain.OPEN)
        return await self.store.requests_in(statuses, skip=skip, limit=limit)

    async def request_created_under(self, key_id: str) -> LicenceRequest | None:
        return await self.store.request_created_under(key_id)

    def quote(self, profession: str, area_m2: float) -> tuple[Profession, int]:
        return domain.quote(self.reference, profession, area_m2)

    async def create(self, owner: Actor, application: Application) -> LicenceRequest:
        """A new draft, if the application passes every rule (else one refusal naming every bad
        field)."""
        fields = domain.new_request_fields(application, self.reference)
        now = self.now()
        number = await self.store.new_request_number(now)
        created = domain.create(number, owner, now, fields)
        await self.store.insert_request(created.request)
        TRANSITIONS.labels(domain.RequestAction.CREATE.value).inc()
        return created.request

    async def _save(self, before: LicenceRequest, decided: Change) -> LicenceRequest:
        number = before.number
        saved = await self.store.save_request(
            before, decided.request, self._events(number, decided.events), decided.documents
        )
        for entry in saved.history[len(before.history) :]:
            TRANSITIONS.labels(entry.action).inc()
        if decided.breached:
            SLA_BREACHES.inc()
            logger.warning("request %s missed its target", number)
        return saved

    async def _change(self, number: str, decide: Decide, attempts: int) -> LicenceRequest | None:
        """Apply `decide` to the stored request; None when it decided there is nothing to do."""
        return await change(
            lambda: self.request(number),
            lambda request: decide(request, self.now()),
            self._save,
            attempts=attempts,
        )

    async def _act(self, number: str, decide: Decide) -> LicenceRequest:
        """A person's action: one attempt; it always moves the request."""
        saved = await self._change(number, decide, PERSON)
        assert saved is not None, "a person's action always changes the request"
        return saved

    # ---- the applicant ---------------------------------------------------------------------

    async def attach_document(
        self, number: str, kind: str, filename: str, data: bytes, actor: Actor
    ) -> LicenceRequest:
        """Check the file by its bytes and size, keep it, and put it on the request."""
        metadata = {"request_number": number, "kind": kind}
        stored = await self.store.files.keep(
            filename, data, self.upload_rules, metadata, fallback=kind
        )
        document = domain.Document(**stored.fields(), kind=kind, uploaded_at=self.now())
        replaced: list[domain.Document] = []

        def decide(request: LicenceRequest, now: datetime) -> Change:
            attached, previous = domain.attach_document(
                request, document, now, actor, self.calendar
            )
            replaced[:] = [previous] if previous else []
            return attached

        try:
            request = await self._act(number, decide)
        except BaseException:
            await self.store.files.delete(stored.file_id)
            raise
        for previous in replaced:
            await self.store.files.delete(previous.file_id)
        return request

    async def document_file(self, request: LicenceRequest, kind: str) -> tuple[bytes, str]:
        document = request.document(kind)
        data = None if document is None else await self.store.files.read(document.file_id)
        if document is None or data is None:
            raise Unknown("No such document is attached.", "لا توجد وثيقة مرفقة من هذا النوع.")
        return data, document.content_type

    async def submit(self, number: str, actor: Actor) -> LicenceRequest:
        return await self._act(number, lambda r, now: domain.submit(r, now, actor, self.calendar))

    async def withdraw(self, number: str, actor: Actor) -> LicenceRequest:
        return await self._act(number, lambda r, now: domain.withdraw(r, now, actor, self.calendar))

    async def request_new_bill(self, number: str, actor: Actor) -> LicenceRequest:
        return await self._act(
            number,
            lambda r, now: domain.request_new_bill(
                r, self._payment_due(now), now, actor, self.calendar
            ),
        )

    # ---- staff -----------------------------------------------------------------------------

    async def check_documents(
        self,
        number: str,
        accepted: bool,
        issues: Sequence[tuple[str, Literal["missing", "wrong"], str | None]],
        actor: Actor,
    ) -> LicenceRequest:
        return await self._act(
            number,
            lambda r, now: domain.check_documents(
                r, issues, now, actor, self.calendar, accepted=accepted
            ),
        )

    async def schedule_inspection(
        self, number: str, inspection_at: datetime, actor: Actor
    ) -> LicenceRequest:
        return await self._act(
            number,
            lambda r, now: domain.schedule_inspection(r, inspection_at, now, actor, self.calendar),
        )

    async def record_inspection(
        self, number: str, compliant: bool, findings: str | None, actor: Actor
    ) -> LicenceRequest:
        return await self._act(
            number,
            lambda r, now: domain.record_inspection(
                r, compliant, findings, now, actor, self.calendar
            ),
        )

    async def decide(
        self,
        number: str,
        decision: domain.Decision,
        reasons: str | None,
        authority_codes: Sequence[str],
        actor: Actor,
    ) -> LicenceRequest:
        authorities = domain.authorities_named(authority_codes, self.reference.authorities)
        return await self._act(
            number,
            lambda r, now: domain.decide(
                r, decision, reasons, authorities, self._payment_due(now), now, actor,
                self.calendar,
            ),
        )  # fmt: skip

    async def record_external(
        self,
        number: str,
        authority_code: str,
        given: bool,
        reference: str | None,
        note: str | None,
        actor: Actor,
    ) -> LicenceRequest:
        return await self._act(
            number,
            lambda r, now: domain.record_external(
                r, authority_code, given, reference, note, now, actor, self.calendar
            ),
        )

    async def overdue(self, *, skip: int, limit: int) -> Page:
        """Open requests past their target (the staff list of SLA breaches)."""
        running = [s.status for s in domain.REQUEST_STATES if s.sla == "running"]
        paused = [s.status for s in domain.REQUEST_STATES if s.sla == "paused"]
        return await self.store.overdue(running, paused, self.now(), skip=skip, limit=limit)

    async def check_sla(self, document: Document) -> None:
        """Sweeper handler on `sla_check_at`: record a missed target once."""
        await self._change(str(document["_id"]), domain.check_sla, EVENT)

    # ---- the licence -----------------------------------------------------------------------

    def verification_url(self, token: str) -> str:
        return f"{self.settings.licensing_public_base_url.rstrip('/')}/v1/licences/{token}"

    def document_verification_url(self, verification_id: str) -> str:
        """The public verification page of the licence's PDF (its QR code)."""
        assert self.store.documents is not None, "the service issues documents"
        return self.store.documents.verification_url(verification_id)

    async def licence(self, token: str) -> LicenceRequest:
        number = await self.store.request_of_token(token)
        request = None if number is None else await self.store.request(number)
        if request is None or request.licence is None or request.licence.token != token:
            raise Unknown("No such licence.", "لا توجد رخصة بهذا الرابط.")
        return request

    # ---- payments --------------------------------------------------------------------------

    async def _ours(self, reference: str) -> str | None:
        """The number of the request a bill is for, or None for another service's bill (normal:
        every service's bills come to this queue). A bill of this service naming no request of
        it should not have come: `Unknown`, and the consumer dead-letters it."""
        number = domain.request_number_of(reference)
        if number is not None:
            await self.request(number)
        return number

    async def on_bill_issued(self, bill: BillIssued) -> None:
        """The fee's bill exists: the inquiry shows its number, amount and due time."""
        number = domain.request_number_of(bill.payment_reference)
        if number is not None and await self.store.record_bill(
            number, bill.payment_reference, bill.e_payment_number, bill.amount_fils, bill.due_at
        ):
            return
        # Nothing matched (see `services.common.pending_bill`): decided over the stored request.
        if (number := await self._ours(bill.payment_reference)) is None:
            return
        await self._change(
            number,
            lambda r, now: domain.record_bill(
                r, bill.payment_reference, bill.e_payment_number, bill.amount_fils, bill.due_at
            ),
            EVENT,
        )

    async def on_bill_paid(self, bill: BillPaid) -> None:
        """Step 9: the fee was paid: issue the licence (a number and a verification token). A
        payment of a withdrawn request is refunded; any other is a no-op (a redelivery, an old
        bill)."""
        if (number := await self._ours(bill.payment_reference)) is None:
            return
        licence_number, token = "", ""
        if domain.is_payable(await self.request(number), bill.payment_reference):
            now = self.now()
            licence_number = await self.store.new_licence_number(now)
            token = secrets.token_urlsafe(24)
            await self.store.record_licence_token(token, number, now)
        await self._change(
            number,
            lambda r, now: domain.pay(
                r, bill.payment_reference, bill.e_payment_number, bill.amount_fils,
                licence_number, token, self.verification_url(token), now, self.calendar,
            ),
            EVENT,
        )  # fmt: skip

    async def on_bill_ended(self, bill: BillExpired | BillCancelled) -> None:
        """The bill can no longer be paid (expired, or cancelled by payments)."""
        if (number := await self._ours(bill.payment_reference)) is None:
            return
        await self._change(
            number,
            lambda r, now: domain.expire_bill(
                r, bill.payment_reference, bill.e_payment_number, now, self.calendar
            ),
            EVENT,
        )
