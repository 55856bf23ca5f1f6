"""The use cases: load a bill, let the domain decide, store the result with its events.

Consumers, the provider adapter and the people's API all come here; each use case is one short
method over the shared change loop (`services.common.change`). Concurrency is optimistic: a
change is written only over the version it was decided on, and on a clash the bill is reloaded and
the rule applied again (the second of two racing payments then sees a paid bill); a finance
approver's decision is tried once, then answered 409 (they decided on what they saw).

An event the rules refuse (a bill already past its due time, a refund of an unpaid bill, a
cancellation of a payment never requested) raises its `DomainError`, and the consumer
dead-letters it with the reason; what normal running brings again (a redelivery, a cancellation
after the bill was paid) is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from functools import partial

from prometheus_client import Counter

from contracts import CloudEvent, PaymentCancelled, PaymentRequested, RefundRequested
from services.common.change import PERSON, ChangedMeanwhile, change
from services.common.clock import Clock
from services.common.mongo import Document
from services.common.outbox import Outbox, new_events
from services.common.workflow import Actor
from services.payments import domain, reports
from services.payments.domain import (
    Bill,
    Change,
    Issue,
    NotAllowedNow,
    Notification,
    PaymentNotice,
    PaymentRefused,
    Refund,
    Unknown,
)
from services.payments.numbers import new_e_payment_number
from services.payments.settings import PaymentsSettings
from services.payments.store import BillStore, refund_key

logger = logging.getLogger(__name__)

SOURCE = "payments"
# Numbers drawn for one bill at most: a drawn number is another bill's about 1 in 10^11.
NUMBER_DRAWS = 20
# Bills by what became of them; the alerts compare expired to issued (deploy/k8s, PrometheusRule).
BILL_OUTCOMES = Counter(
    "payments_bills_total", "Bills issued, paid, expired and cancelled", ["outcome"]
)
for _outcome in ("issued", "paid", "expired", "cancelled"):
    BILL_OUTCOMES.labels(_outcome)


class Payments:
    def __init__(
        self,
        store: BillStore,
        outbox: Outbox,
        clock: Clock,
        settings: PaymentsSettings,
        draw_number: Callable[[], str] | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.settings = settings
        self._draw_number = draw_number or partial(
            new_e_payment_number, settings.payments_number_length
        )

    def now(self) -> datetime:
        """The clock, to the millisecond: what the database keeps, so that an answer given now
        and the same answer read back later are equal."""
        instant = self.clock.now()
        return instant.replace(microsecond=instant.microsecond // 1000 * 1000)

    # ---- events in -------------------------------------------------------------------------

    async def issue_bill(self, request: PaymentRequested) -> Bill:
        """One bill per payment reference: a repeated request gets the bill already issued.

        One write: the bill is inserted under a freshly drawn number, with its event (which
        leaves at once, `Outbox.insert_new`); the unique index on the payment reference refuses
        a second bill for the same request. A refused insert is a repeated request (its bill is
        found by its reference) or, about once in 10^11, a number already drawn for another
        bill (drawn again)."""
        for _ in range(NUMBER_DRAWS):
            number = self._draw_number()
            change = domain.issue_bill(request, self._issue(request, number))
            if await self.store.add(change.bill, self._envelopes(change)):
                BILL_OUTCOMES.labels("issued").inc()
                logger.info("bill %s issued for %s", number, request.payment_reference)
                return change.bill
            existing = await self.store.by_reference(request.payment_reference)
            if existing is not None:
                return existing
        # Lost every race for a number: the consumer retries the request later.
        raise ChangedMeanwhile()

    def _issue(self, request: PaymentRequested, number: str) -> Issue:
        settings = self.settings
        return Issue(
            e_payment_number=number,
            biller_code=settings.payments_biller_code,
            provider_service_type=domain.provider_service_type(
                request.service_type,
                settings.payments_service_types,
                settings.payments_default_service_type,
            ),
            now=self.now(),
        )

    async def cancel_bill(self, cancelled: PaymentCancelled) -> Bill | None:
        """Cancel the unpaid bill of a withdrawn request; None if it had already ended (paid,
        expired, cancelled). Unknown (dead-lettered) if the payment was never requested."""

        def decide(bill: Bill | None) -> Change | None:
            if bill is None:
                raise Unknown(
                    f"no bill for payment {cancelled.payment_reference}",
                    f"لا توجد فاتورة للدفعة {cancelled.payment_reference}",
                )
            return domain.cancel(bill, cancelled.reason, self.now())

        saved = await change(
            partial(self.store.by_reference, cancelled.payment_reference), decide, self._save
        )
        if saved is not None:
            BILL_OUTCOMES.labels("cancelled").inc()
        return saved

    async def request_refund(self, request: RefundRequested) -> Bill | None:
        """Record a refund of a paid bill; None if it is recorded already (a redelivery)."""
        load = partial(self.store.by_reference, request.payment_reference)
        saved = await change(
            load, lambda bill: domain.request_refund(bill, request, self.now()), self._save
        )
        # After the refund is stored (a redelivery binds it if a crash came in between).
        bill = saved or await load()
        assert bill is not None  # request_refund raised Unknown otherwise
        await self.store.bind(refund_key(request.refund_reference), bill.e_payment_number)
        return saved

    # ---- the deadline sweeper --------------------------------------------------------------

    async def expire_bill(self, document: Document) -> None:
        """Called by the sweeper for a bill whose `expires_at` has come."""
        number = str(document["_id"])

        def decide(bill: Bill | None) -> Change | None:
            if bill is None:
                raise Unknown(f"no bill {number}", f"لا توجد فاتورة {number}")
            return domain.expire(bill, self.now())

        if await change(partial(self.store.by_number, number), decide, self._save) is not None:
            BILL_OUTCOMES.labels("expired").inc()

    # ---- the payment provider --------------------------------------------------------------

    async def accept_payment(self, notice: PaymentNotice) -> Notification:
        """Apply a provider's payment notification once per provider transaction.

        A refused one is recorded as a reconciliation exception (money to give back) and answered
        with its reason; the same transaction repeated gets the same answer."""
        previous = await self.store.notification(notice.key)
        if previous is not None:
            return self._repeated(previous, notice)
        try:
            paid = await change(
                partial(self.store.by_number, notice.e_payment_number),
                lambda bill: domain.pay(bill, notice, self.now()),
                self._save,
            )
            if paid is not None:
                BILL_OUTCOMES.labels("paid").inc()
            record = domain.accepted_notification(notice, self.now())
        except PaymentRefused as refused:
            record = domain.refused_notification(notice, refused, self.now())
            logger.warning(
                "payment notification %s refused: %s (%s)",
                notice.key,
                refused.kind,
                refused.detail,
            )
        stored = await self.store.record_notification(record)
        return stored if stored is record else self._repeated(stored, notice)

    def _repeated(self, stored: Notification, notice: PaymentNotice) -> Notification:
        if stored.fingerprint != domain.fingerprint(notice):
            raise NotAllowedNow(
                f"transaction {notice.provider_transaction_id} was already notified with "
                "different details",
                f"الحركة {notice.provider_transaction_id} أُبلغ عنها سابقًا بتفاصيل مختلفة",
            )
        return stored

    async def bill_for_provider(
        self, number: str, *, provider_service_type: str | None, biller_code: str | None
    ) -> Bill:
        return domain.presentable(
            await self.store.by_number(number),
            number=number,
            provider_service_type=provider_service_type,
            biller_code=biller_code,
        )

    # ---- finance staff ---------------------------------------------------------------------

    async def decide_refund(
        self, refund_reference: str, *, approve: bool, actor: Actor, note: str | None
    ) -> tuple[Bill, Refund]:
        """A finance approver's decision: tried once (`ChangedMeanwhile`, 409, if the bill changed
        meanwhile); the bill as saved and the refund decided."""

        def decide(bill: Bill | None) -> Change:
            if bill is None:
                raise Unknown(
                    f"no refund {refund_reference}", f"لا يوجد استرداد {refund_reference}"
                )
            return domain.decide_refund(
                bill, refund_reference, approve=approve, actor=actor, note=note, now=self.now()
            )

        saved = await change(
            partial(self.store.by_refund_reference, refund_reference),
            decide,
            self._save,
            attempts=PERSON,
        )
        assert saved is not None  # domain.decide_refund always changes the bill
        refund = saved.refund(refund_reference)
        assert refund is not None
        return saved, refund

    def verification_url(self, verification_id: str) -> str:
        """The public verification page of a receipt (its QR code)."""
        assert self.store.documents is not None, "the service issues documents"
        return self.store.documents.verification_url(verification_id)

    async def daily_report(self, day: date) -> reports.DailyReport:
        start, end = reports.day_window(day)
        bills = await self.store.touched_between(start, end)
        exceptions = await self.store.exceptions_between(start, end)
        return reports.daily_report(day, bills, exceptions)

    # ---- machinery -------------------------------------------------------------------------

    async def _save(self, before: Bill | None, decided: Change) -> Bill:
        """The decided bill over the version it was decided on (`StaleVersion` if it moved)."""
        assert before is not None  # a rule that changes a bill had one
        return await self.store.save(
            before.version, decided.bill, self._envelopes(decided), decided.documents
        )

    def _envelopes(self, change: Change) -> list[CloudEvent]:
        return new_events(
            change.events,
            source_service=SOURCE,
            subject=change.bill.request_number,
            time=self.now(),
        )
