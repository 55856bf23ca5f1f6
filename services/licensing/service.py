"""The use cases of the licensing service: load, let the domain decide, store with the events.

A request changes only through a version-guarded update carrying its events (the outbox). A
person's action is decided on what they saw: one attempt, then 409. An event's effect is retried
on a clash, and the domain returns None for one that no longer applies, so a redelivery changes
nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from prometheus_client import Counter

from contracts import BillCancelled, BillExpired, BillIssued, BillPaid, CloudEvent
from services.common.calendar import WorkingCalendar
from services.common.clock import Clock
from services.common.mongo import Document, request_number
from services.common.outbox import new_events
from services.common.problems import Conflict, Invalid, NotFound
from services.common.problems import problem_of as problem
from services.common.uploads import UploadRules
from services.licensing import domain
from services.licensing.domain import (
    LICENCE_PREFIX,
    REQUEST_PREFIX,
    SERVICE,
    Change,
    DomainError,
    LicenceRequest,
)
from services.licensing.reference import Authority, ReferenceData
from services.licensing.settings import LicensingSettings
from services.licensing.store import LicensingStore, StaleVersion, request_from

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
ONE_ATTEMPT = 1
REQUEST_NOT_FOUND = ("No such request.", "لا يوجد طلب بهذا الرقم.")

TRANSITIONS = Counter("licensing_transitions_total", "Transitions of licence requests", ["action"])
SLA_BREACHES = Counter(
    "licensing_sla_breaches_total",
    "Licence requests that missed the 3-working-day target (counted once each)",
)

Decide = Callable[[LicenceRequest, datetime], Change | None]


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

    def _events(self, number: str, events: Sequence[domain.Event]) -> list[CloudEvent]:
        return new_events(events, source_service=SERVICE, subject=number, time=self.now())

    # ---- requests --------------------------------------------------------------------------

    async def request(self, number: str) -> LicenceRequest:
        found = await self.store.request(number)
        if found is None:
            raise NotFound(*REQUEST_NOT_FOUND)
        return found

    async def create(self, owner: str, fields: dict[str, object]) -> LicenceRequest:
        now = self.now()
        number = await request_number(self.store.db, REQUEST_PREFIX, now)
        change = domain.create(number, owner, now, **fields)
        await self.store.insert_request(change.request)
        TRANSITIONS.labels(domain.RequestAction.CREATE.value).inc()
        return change.request

    async def _change(
        self, number: str, decide: Decide, attempts: int, *, refuse: bool = True
    ) -> tuple[LicenceRequest, Change | None]:
        """Apply `decide` to the stored request. `refuse`: a domain refusal is a problem
        response (a person's action); otherwise it is logged and nothing changes (an event)."""
        for tries in range(attempts):
            request = await self.request(number)
            try:
                change = decide(request, self.now())
            except DomainError as error:
                if refuse:
                    raise problem(error) from error
                logger.info("request %s: %s", number, error.detail)
                return request, None
            if change is None:
                return request, None
            events = self._events(number, change.events)
            try:
                saved = await self.store.save_request(
                    request, change.request, change.entries, events
                )
            except StaleVersion:
                if tries + 1 >= attempts:
                    break
                await asyncio.sleep(random.uniform(0, 0.005 * min(tries + 1, 20)))
                continue
            for entry in change.entries:
                TRANSITIONS.labels(entry.action).inc()
            if change.breached:
                SLA_BREACHES.inc()
                logger.warning("request %s missed its target", number)
            return saved, change
        raise Conflict(
            "The request was changed meanwhile; reload it and try again.",
            "تغيّر الطلب في هذه الأثناء، يرجى إعادة تحميله والمحاولة مجدداً.",
        )

    async def _act(self, number: str, decide: Decide) -> LicenceRequest:
        request, _ = await self._change(number, decide, ONE_ATTEMPT)
        return request

    # ---- the applicant ---------------------------------------------------------------------

    async def attach_document(
        self, number: str, kind: str, filename: str, data: bytes
    ) -> LicenceRequest:
        """Check the file by its bytes and size, keep it, and put it on the request."""
        metadata = {"request_number": number, "kind": kind}
        stored = await self.store.files.keep(
            filename, data, self.upload_rules, metadata, fallback=kind
        )
        document = domain.Document(**stored.fields(), kind=kind, uploaded_at=self.now())
        replaced: list[domain.Document] = []

        def decide(request: LicenceRequest, now: datetime) -> Change:
            change, previous = domain.attach_document(request, document, now, self.calendar)
            replaced[:] = [previous] if previous else []
            return change

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
            raise NotFound("No such document is attached.", "لا توجد وثيقة مرفقة من هذا النوع.")
        return data, document.content_type

    async def submit(self, number: str) -> LicenceRequest:
        return await self._act(number, lambda r, now: domain.submit(r, now, self.calendar))

    async def withdraw(self, number: str) -> LicenceRequest:
        return await self._act(number, lambda r, now: domain.withdraw(r, now, self.calendar))

    async def request_new_bill(self, number: str) -> LicenceRequest:
        return await self._act(
            number,
            lambda r, now: domain.request_new_bill(r, self._payment_due(now), now, self.calendar),
        )

    # ---- staff -----------------------------------------------------------------------------

    async def check_documents(
        self,
        number: str,
        issues: Sequence[tuple[str, Literal["missing", "wrong"], str | None]],
        by: str,
    ) -> LicenceRequest:
        return await self._act(
            number, lambda r, now: domain.check_documents(r, issues, now, by, self.calendar)
        )

    async def schedule_inspection(
        self, number: str, inspection_at: datetime, by: str
    ) -> LicenceRequest:
        return await self._act(
            number,
            lambda r, now: domain.schedule_inspection(r, inspection_at, now, by, self.calendar),
        )

    async def record_inspection(
        self, number: str, compliant: bool, findings: str | None, by: str
    ) -> LicenceRequest:
        return await self._act(
            number,
            lambda r, now: domain.record_inspection(r, compliant, findings, now, by, self.calendar),
        )

    async def decide(
        self,
        number: str,
        decision: Literal["approved", "not_approved", "external_approvals_required"],
        reasons: str | None,
        authority_codes: Sequence[str],
        by: str,
    ) -> LicenceRequest:
        authorities: list[Authority] = []
        for code in authority_codes:
            authority = self.reference.authorities.authority(code)
            if authority is None:
                raise Invalid(
                    f"Unknown authority '{code}'.",
                    "جهة غير معروفة.",
                    errors=[{"field": "authorities", "message": f"unknown authority {code}"}],
                )
            authorities.append(authority)
        return await self._act(
            number,
            lambda r, now: domain.decide(
                r, decision, reasons, authorities, self._payment_due(now), now, by, self.calendar
            ),
        )

    async def record_external(
        self,
        number: str,
        authority_code: str,
        given: bool,
        reference: str | None,
        note: str | None,
        by: str,
    ) -> LicenceRequest:
        return await self._act(
            number,
            lambda r, now: domain.record_external(
                r, authority_code, given, reference, note, now, by, self.calendar
            ),
        )

    async def overdue(self, limit: int, offset: int) -> list[LicenceRequest]:
        """Open requests past their target (the staff list of SLA breaches)."""
        running = [s.status for s in domain.REQUEST_STATES if s.sla == "running"]
        paused = [s.status for s in domain.REQUEST_STATES if s.sla == "paused"]
        return await self.store.overdue(running, paused, self.now(), limit, offset)

    async def check_sla(self, document: Document) -> None:
        """Sweeper handler on `sla_check_at`: record a missed target once."""
        number = request_from(document).number
        await self._change(number, lambda r, now: domain.check_sla(r, now), MAX_ATTEMPTS)

    # ---- the licence -----------------------------------------------------------------------

    def verification_url(self, token: str) -> str:
        return f"{self.settings.licensing_public_base_url.rstrip('/')}/v1/licences/{token}"

    async def licence(self, token: str) -> LicenceRequest:
        number = await self.store.request_of_token(token)
        request = None if number is None else await self.store.request(number)
        if request is None or request.licence is None or request.licence.token != token:
            raise NotFound("No such licence.", "لا توجد رخصة بهذا الرابط.")
        return request

    # ---- payments --------------------------------------------------------------------------

    async def _is_ours(self, reference: str, number: str) -> bool:
        if not reference.startswith(f"{SERVICE}:"):
            return False
        if await self.store.request(number) is None:
            logger.warning("bill %s names no request of this service", reference)
            return False
        return True

    async def on_bill_issued(self, event: CloudEvent, data: BillIssued) -> None:
        """The fee's bill exists: the inquiry shows its number, amount and due time."""
        if not await self._is_ours(data.payment_reference, data.request_number):
            return
        await self._change(
            data.request_number,
            lambda r, now: domain.record_bill(
                r, data.payment_reference, data.e_payment_number, data.amount_fils, data.due_at
            ),
            MAX_ATTEMPTS,
            refuse=False,
        )

    async def on_bill_paid(self, event: CloudEvent, data: BillPaid) -> None:
        """Step 9: the fee was paid: issue the licence (a number and a verification token)."""
        if not await self._is_ours(data.payment_reference, data.request_number):
            return
        current = await self.request(data.request_number)
        if current.status is not domain.RequestStatus.AWAITING_PAYMENT:
            await self._change(
                data.request_number,
                lambda r, now: domain.pay(
                    r, data.payment_reference, data.e_payment_number, data.amount_fils,
                    "", "", "", now, self.calendar,
                ),
                MAX_ATTEMPTS, refuse=False,
            )  # fmt: skip
            return
        now = self.now()
        licence_number = await request_number(self.store.db, LICENCE_PREFIX, now)
        token = secrets.token_urlsafe(24)
        await self.store.record_licence_token(token, data.request_number, now)
        await self._change(
            data.request_number,
            lambda r, now: domain.pay(
                r, data.payment_reference, data.e_payment_number, data.amount_fils,
                licence_number, token, self.verification_url(token), now, self.calendar,
            ),
            MAX_ATTEMPTS, refuse=False,
        )  # fmt: skip

    async def on_bill_ended(self, event: CloudEvent, data: BillExpired | BillCancelled) -> None:
        """The bill can no longer be paid (expired, or cancelled by payments)."""
        if not await self._is_ours(data.payment_reference, data.request_number):
            return
        await self._change(
            data.request_number,
            lambda r, now: domain.expire_bill(
                r, data.payment_reference, data.e_payment_number, now, self.calendar
            ),
            MAX_ATTEMPTS,
            refuse=False,
        )
