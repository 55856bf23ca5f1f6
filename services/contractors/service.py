"""The use cases: look a permit up, send a code, submit, review, react to payments, write the
registry.

The API, the consumers and the sweepers all come here. Every change of a request goes through
the shared change loop (`services.common.change`): a change is written only over the version it
was decided on; a person's action that loses a race is answered 409 (`PERSON`), an event's effect
is decided again on the new state (`EVENT`). The domain's None ("nothing to do": a redelivered
event, a request already moved) writes nothing. A code check that loses its race to another check
of the same code is checked again (`retrying`): every try counts against the code's limit.

A completed renewal is first stored (with its SMS event, in the outbox, and its renewed permit's
document staged for the shared issuer) together with a `registry_due_at` mark, then its new
validity is written to the permit (once: guarded by the request number) and the mark removed. A
crash in between leaves the mark, and the registry sweeper finishes the write.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from cryptography.fernet import Fernet
from nacl.public import PublicKey
from prometheus_client import Counter

from contracts import BillCancelled, BillExpired, BillIssued, BillPaid, CloudEvent, LocalizedText
from contracts.notifier import SendSms, send_sms_command
from contracts.phones import mask_phone
from services.common import idempotency
from services.common.calendar import WorkingCalendar
from services.common.change import EVENT, PERSON, change, retrying
from services.common.clock import Clock
from services.common.codeseal import seal_values
from services.common.mongo import Document
from services.common.outbox import new_events
from services.common.telemetry import current_traceparent
from services.contractors import domain, otp, registry
from services.contractors.domain import (
    SERVICE,
    Actor,
    Change,
    Contractor,
    DomainError,
    FeeSchedule,
    FieldError,
    NotAllowedNow,
    Permit,
    PermitKey,
    RenewalRequest,
    RuleBroken,
    Throttled,
    Unknown,
)
from services.contractors.otp import CodeStatus, OtpPolicy, Outcome, Verification
from services.contractors.store import ContractorStore, RequestQuery

logger = logging.getLogger(__name__)

TRANSITIONS = Counter("contractors_transitions_total", "Renewal transitions", ["action"])
CODES = Counter("contractors_codes_total", "One-time codes sent and checked", ["outcome"])


@dataclass(frozen=True)
class Limits:
    """Rate limits (settings, documented in the README)."""

    lookups_per_window: int = 10
    lookup_window: timedelta = timedelta(minutes=15)
    # Per client address, across accounts (the same window).
    lookups_per_address: int = 30


@dataclass(frozen=True)
class CodeSent:
    verification: Verification
    resend_after: datetime


@dataclass(frozen=True)
class RenewalForm:
    contractor_number: str
    permit_number: str
    permit_year: int
    reason: str
    phone: str
    verification_id: str
    code: str
    lang: Literal["ar", "en"] = "ar"


def sealer_for(secret: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"seal:" + secret).digest()))


def request_not_found(number: str) -> Unknown:
    return Unknown(f"no renewal request {number}", f"لا يوجد طلب تجديد بالرقم {number}")


class Contractors:
    def __init__(
        self,
        store: ContractorStore,
        fees: FeeSchedule,
        clock: Clock,
        calendar: WorkingCalendar,
        *,
        secret: bytes,
        policy: OtpPolicy,
        limits: Limits,
        payment_working_days: int,
        dev_code: str | None = None,
        code_key: PublicKey,
    ) -> None:
        self.store = store
        self.fees = fees
        self.clock = clock
        self.calendar = calendar
        self.secret = secret
        self.sealer = sealer_for(secret)
        self.policy = policy
        self.limits = limits
        self.payment_working_days = payment_working_days
        self.dev_code = dev_code
        # The notifier's public code key: the code travels sealed for the notifier alone.
        self.code_key = code_key

    def now(self) -> datetime:
        instant = self.clock.now()
        return instant.replace(microsecond=instant.microsecond // 1000 * 1000)

    # ---- step 1: lookup ------------------------------------------------------------------------

    async def _throttle_lookups(self, subject: str, address: str | None, now: datetime) -> None:
        """Lookups and codes count per account and per client address, in fixed windows."""
        window = self.limits.lookup_window
        start = datetime.fromtimestamp(
            now.timestamp() // window.total_seconds() * window.total_seconds(), tz=now.tzinfo
        )
        end = start + window
        retry_after = max(int((end - now).total_seconds()), 1)
        count = await self.store.count_in_window(f"lookup:{subject}:{start.isoformat()}", end)
        if count > self.limits.lookups_per_window:
            raise Throttled(
                "Too many permit lookups; try again later",
                "عدد محاولات الاستعلام كبير؛ حاول لاحقاً",
                retry_after=retry_after,
            )
        if address is None:
            return
        # The address is hashed: the counter's key is stored, and an address is personal data.
        address_key = hashlib.sha256(f"address:{address}".encode()).hexdigest()[:24]
        count = await self.store.count_in_window(
            f"lookup-address:{address_key}:{start.isoformat()}", end
        )
        if count > self.limits.lookups_per_address:
            raise Throttled(
                "Too many permit lookups from this network; try again later",
                "عدد محاولات الاستعلام من هذه الشبكة كبير؛ حاول لاحقاً",
                retry_after=retry_after,
            )

    async def _match(self, key: PermitKey) -> tuple[Contractor, Permit]:
        permit = await self.store.permit(key.permit_id)
        if permit is None or permit.contractor_number != key.contractor_number:
            raise domain.no_match()
        contractor = await self.store.contractor(key.contractor_number)
        if contractor is None:
            raise domain.no_match()
        return contractor, permit

    async def lookup(
        self, key: PermitKey, user: Actor, address: str | None = None
    ) -> LocalizedText:
        """Seed 001, step 1: the contractor's name if the three match (and nothing else);
        limited per account and per client `address`."""
        await self._throttle_lookups(user.subject, address, self.now())
        contractor, _ = await self._match(key)
        return contractor.name

    # ---- step 2: the one-time code --------------------------------------------------------------

    async def send_code(
        self,
        key: PermitKey,
        phone: str,
        lang: Literal["ar", "en"],
        user: Actor,
        address: str | None = None,
    ) -> CodeSent:
        """A one-time code to `phone`, for this citizen and permit (rate-limited per account,
        per client `address` and per phone)."""
        now = self.now()
        await self._throttle_lookups(user.subject, address, now)
        _, permit = await self._match(key)
        domain.check_renewable(permit)
        await self._refuse_if_open(permit.id)
        phone_key = hashlib.sha256(phone.encode()).hexdigest()[:24]
        last = await self.store.stamp_if_quiet(f"resend:{phone_key}", now, self.policy.resend_after)
        if last is not None:
            wait = max(int((last + self.policy.resend_after - now).total_seconds()), 1)
            raise Throttled(
                f"A code was sent to this phone just now; ask again in {wait} seconds",
                f"أُرسل رمز إلى هذا الهاتف للتو؛ أعد الطلب بعد {wait} ثانية",
                retry_after=wait,
            )
        hour = now.replace(minute=0, second=0, microsecond=0)
        sent = await self.store.count_in_window(
            f"hourly:{phone_key}:{hour.isoformat()}", hour + timedelta(hours=1)
        )
        if sent > self.policy.per_phone_per_hour:
            raise Throttled(
                f"At most {self.policy.per_phone_per_hour} codes per phone per hour",
                f"الحد الأقصى {self.policy.per_phone_per_hour} رموز للهاتف الواحد في الساعة",
                retry_after=max(int((hour + timedelta(hours=1) - now).total_seconds()), 1),
            )
        verification_id = secrets.token_hex(16)
        code = self.dev_code or otp.new_code(self.policy.digits)
        verification = otp.issue(
            verification_id=verification_id,
            owner_subject=user.subject,
            phone=phone,
            permit_id=permit.id,
            contractor_number=key.contractor_number,
            code=code,
            secret=self.secret,
            now=now,
            policy=self.policy,
        )
        command = send_sms_command(
            SendSms(
                message_id=f"{SERVICE}:verification:{verification_id}",
                phone=phone,
                lang=lang,
                template="one_time_code",
                sealed_values=seal_values({"code": code}, self.code_key),
                sensitive=True,
                owner_subject=user.subject,
                expires_at=verification.expires_at,
            ),
            source_service=SERVICE,
            time=now,
            traceparent=current_traceparent(),
        )
        sealed = self.sealer.encrypt(command.to_json()).decode()
        await self.store.add_verification(
            verification, sealed, command, prune_at=verification.expires_at + timedelta(days=1)
        )
        CODES.labels("sent").inc()
        logger.info("one-time code %s sent to %s", verification_id, mask_phone(phone))
        return CodeSent(verification, now + self.policy.resend_after)

    def open_command(self, sealed: str) -> bytes:
        """The command's JSON, for the relay (sealed at rest)."""
        return self.sealer.decrypt(sealed.encode())

    async def _refuse_if_open(self, permit_id: str) -> None:
        hold = await self.store.permit_hold(permit_id)
        if hold is None:
            return
        number = hold.request_number
        holder = await self.store.request(number)
        if holder is not None and not holder.is_open:
            await self.store.release_permit(permit_id, number)  # left over by a crash
            return
        claim = idempotency.current()
        if holder is None and claim is not None and hold.key_id == claim.key_id:
            # Held by this same submission, cut short before its request was stored.
            await self.store.release_permit(permit_id, number)
            return
        raise NotAllowedNow(
            "This permit already has a renewal request in progress",
            "يوجد طلب تجديد قيد الإجراء لهذا التصريح",
        )

    async def _use_code(self, form: RenewalForm, phone: str, key: PermitKey, user: Actor) -> None:
        """Accept the form's code, or raise the problem that names the `code` field."""
        unknown = RuleBroken(
            "No such code request; ask for a new code",
            "لا يوجد طلب رمز تحقق بهذا المعرف؛ اطلب رمزاً جديداً",
            [_code_error("verification_id", "unknown_verification")],
        )

        async def attempt() -> None:
            verification = await self.store.verification(form.verification_id)
            if verification is None or verification.owner_subject != user.subject:
                raise unknown
            if verification.permit_id != key.permit_id:
                raise unknown
            if verification.phone != phone:
                raise RuleBroken(
                    "The code was sent to another phone",
                    "أُرسل رمز التحقق إلى رقم هاتف آخر",
                    [
                        FieldError(
                            "phone",
                            "Use the phone the code was sent to, or ask for a new code",
                            "استخدم رقم الهاتف الذي أُرسل إليه الرمز أو اطلب رمزاً جديداً",
                            "phone_mismatch",
                        )
                    ],
                )
            claim = idempotency.current()
            if (
                claim is not None
                and verification.status is CodeStatus.USED
                and verification.used_under == claim.key_id
            ):
                return  # used by this same submission, cut short before its request was stored
            result = otp.check(verification, form.code, secret=self.secret, now=self.now())
            checked = result.verification
            if result.outcome is Outcome.ACCEPTED and claim is not None:
                checked = checked.model_copy(update={"used_under": claim.key_id})
            if result.changed:
                await self.store.save_verification(checked)  # StaleVersion: checked again
            CODES.labels(result.outcome.value).inc()
            _raise_for(result.outcome, result.verification)

        # Another check of the same code got there first: check again on what it left, so that
        # every try counts against the code's limit.
        await retrying(attempt, attempts=EVENT)

    async def submit(self, form: RenewalForm, user: Actor) -> RenewalRequest:
        """Seed 001, step 2: the renewal, with its verified phone -> SMS with the number."""
        key, phone, reason = _checked(form)
        contractor, permit = await self._match(key)
        domain.check_renewable(permit)
        await self._refuse_if_open(permit.id)
        await self._use_code(form, phone, key, user)
        now = self.now()
        number = await self.store.new_request_number(now)
        claim = idempotency.current()
        holder = await self.store.hold_permit(
            permit.id, number, key_id=None if claim is None else claim.key_id
        )
        if holder is not None:
            raise NotAllowedNow(
                "This permit already has a renewal request in progress",
                "يوجد طلب تجديد قيد الإجراء لهذا التصريح",
            )
        change = domain.submit(
            request_number=number,
            owner=user,
            contractor=contractor,
            permit=permit,
            reason=reason,
            phone=phone,
            lang=form.lang,
            now=now,
        )
        try:
            await self.store.add_request(change.request, self._envelopes(change))
        except BaseException:
            await self.store.release_permit(permit.id, number)
            raise
        TRANSITIONS.labels("submit").inc()
        logger.info("renewal %s submitted", number)
        return change.request

    # ---- staff -------------------------------------------------------------------------------

    async def approve(self, number: str, actor: Actor, note: str | None) -> RenewalRequest:
        def decide(request: RenewalRequest, permit: Permit | None, now: datetime) -> Change:
            assert permit is not None
            due = domain.payment_due(self.calendar, now, self.payment_working_days)
            return domain.approve(
                request, actor, now, fees=self.fees, permit=permit, payment_due_at=due, note=note
            )

        return await self._decided(
            number, await self._change(number, decide, PERSON, with_permit=_always)
        )

    async def reject(self, number: str, actor: Actor, reason: LocalizedText) -> RenewalRequest:
        def decide(request: RenewalRequest, _: Permit | None, now: datetime) -> Change:
            return domain.reject(request, actor, now, reason=reason)

        return await self._decided(number, await self._change(number, decide, PERSON))

    # ---- reads -------------------------------------------------------------------------------

    async def request(self, number: str) -> RenewalRequest:
        request = await self.store.request(number)
        if request is None:
            raise request_not_found(number)
        return request

    async def search(
        self, query: RequestQuery, *, skip: int, limit: int
    ) -> tuple[list[RenewalRequest], int]:
        return await self.store.search_requests(query, skip=skip, limit=limit)

    # ---- the registry ------------------------------------------------------------------------

    async def import_registry(self, parsed: registry.Parsed) -> registry.Report:
        """Write a checked registry file (all its rows are good: `registry.parse`)."""
        return await self.store.import_registry(parsed, self.now())

    # ---- events in ---------------------------------------------------------------------------

    async def on_bill_issued(self, bill: BillIssued) -> None:
        """The fee's bill exists: the inquiry shows its e-payment number while it waits. Another
        service's bill, or one of an older fee, is none of this service's business (no-op)."""
        number = domain.request_number_of(bill.payment_reference)
        if number is None:
            return
        if await self.store.record_bill(number, bill.payment_reference, bill.e_payment_number):
            return
        # Nothing matched (see `services.common.pending_bill`): decided over the stored request.

        def decide(request: RenewalRequest, _: Permit | None, now: datetime) -> Change | None:
            return domain.record_bill(request, bill.payment_reference, bill.e_payment_number)

        await self._change(number, decide, EVENT)

    async def on_bill_paid(self, bill: BillPaid) -> None:
        """Paid: the renewal completes with its new validity. Paid again: nothing; paid after the
        renewal was cancelled: the money is asked back, once."""
        number = domain.request_number_of(bill.payment_reference)
        if number is None:
            return
        paid = domain.PaymentMade(bill.e_payment_number, bill.amount_fils, bill.paid_at)

        def decide(request: RenewalRequest, permit: Permit | None, now: datetime) -> Change | None:
            return domain.record_payment(request, paid, permit, now)

        await self._change(number, decide, EVENT, with_permit=_awaiting_payment)

    async def on_bill_expired(self, bill: BillExpired) -> None:
        await self._cancel(bill.payment_reference, "payment_expired")

    async def on_bill_cancelled(self, bill: BillCancelled) -> None:
        await self._cancel(bill.payment_reference, "bill_cancelled")

    async def _cancel(self, reference: str, cause: domain.CancelCause) -> None:
        """The bill expired or was cancelled unpaid: the renewal is cancelled (a request already
        moved on: nothing)."""
        number = domain.request_number_of(reference)
        if number is None:
            return

        def decide(request: RenewalRequest, _: Permit | None, now: datetime) -> Change | None:
            return domain.cancel_unpaid(request, now, cause)

        await self._change(number, decide, EVENT)

    # ---- sweepers ----------------------------------------------------------------------------

    async def finish_registry(self, document: Document) -> None:
        """Write a completed renewal's validity to the registry (after a crash)."""
        request = await self.store.request(str(document["_id"]))
        if request is not None:
            await self._after(request)

    # ---- machinery ---------------------------------------------------------------------------

    async def _permit_of(self, request: RenewalRequest) -> Permit:
        permit = await self.store.permit(request.permit_id)
        if permit is None:
            raise NotAllowedNow(
                f"permit {request.permit.permit_number}/{request.permit.permit_year} is no "
                "longer in the registry",
                "لم يعد التصريح موجوداً في السجل",
            )
        return permit

    async def _change(
        self,
        number: str,
        decide: Callable[[RenewalRequest, Permit | None, datetime], Change | None],
        attempts: int,
        *,
        with_permit: Callable[[RenewalRequest], bool] = lambda _: False,
    ) -> RenewalRequest | None:
        """The shared change loop over request `number`; the permit is loaded with it (as the
        registry holds it now) when `with_permit` says the decision needs it. The stored request,
        or None when the domain decided there is nothing to do."""

        async def load() -> tuple[RenewalRequest, Permit | None]:
            request = await self.request(number)
            return request, await self._permit_of(request) if with_permit(request) else None

        return await change(
            load, lambda loaded: decide(*loaded, self.now()), self._save, attempts=attempts
        )

    async def _save(
        self, loaded: tuple[RenewalRequest, Permit | None], decided: Change
    ) -> RenewalRequest:
        before, _ = loaded
        completed = decided.request.status is domain.Status.COMPLETED and (
            before.status is not domain.Status.COMPLETED
        )
        version = await self.store.save_request(
            decided.request,
            self._envelopes(decided),
            registry_due=completed,
            documents=decided.documents,
        )
        for entry in decided.request.history[len(before.history) :]:
            TRANSITIONS.labels(entry.action).inc()
        stored = decided.request.model_copy(update={"version": version})
        await self._after(stored)
        return stored

    async def _decided(self, number: str, stored: RenewalRequest | None) -> RenewalRequest:
        """What a person's action answers: the stored request (as it is, if nothing changed)."""
        return stored if stored is not None else await self.request(number)

    async def _after(self, request: RenewalRequest) -> None:
        """What follows a stored change: the registry write of a completed renewal, and the
        permit freed once the renewal is over."""
        if request.status is domain.Status.COMPLETED:
            if not await self.store.write_renewal(request):
                # Removed from the registry since: nothing to write to (said once, not retried).
                logger.error("renewal %s: permit missing from the registry", request.request_number)
            await self.store.registry_written(request.request_number)
        if not request.is_open:
            await self.store.release_permit(request.permit_id, request.request_number)

    def _envelopes(self, change: Change) -> list[CloudEvent]:
        return new_events(
            change.events,
            source_service=SERVICE,
            subject=change.request.request_number,
            time=self.now(),
        )


def _checked(form: RenewalForm) -> tuple[PermitKey, str, str]:
    """The form's fields checked together, so that one answer names every bad field."""
    errors: list[FieldError] = []
    key = phone = reason = None
    try:
        key = domain.check_key(form.contractor_number, form.permit_number, form.permit_year)
    except RuleBroken as error:
        errors.extend(error.errors)
    try:
        phone = domain.check_phone(form.phone)
    except RuleBroken as error:
        errors.extend(error.errors)
    try:
        reason = domain.check_reason(form.reason)
    except RuleBroken as error:
        errors.extend(error.errors)
    domain.raise_if(errors)
    assert key is not None and phone is not None and reason is not None
    return key, phone, reason


def _raise_for(outcome: Outcome, verification: Verification) -> None:
    if outcome is Outcome.ACCEPTED:
        return
    if outcome is Outcome.WRONG:
        left = verification.attempts_left
        raise RuleBroken(
            f"The verification code is wrong; {left} attempt(s) left",
            f"رمز التحقق غير صحيح؛ المحاولات المتبقية: {left}",
            [_code_error("code", "wrong_code")],
        )
    texts = {
        Outcome.EXHAUSTED: (
            "Too many wrong codes: this code is void; ask for a new code",
            "تجاوزت عدد المحاولات المسموح: أُلغي رمز التحقق؛ اطلب رمزاً جديداً",
            "code_void",
        ),
        Outcome.VOID: (
            "This code is void after too many wrong attempts; ask for a new code",
            "أُلغي رمز التحقق بعد محاولات خاطئة كثيرة؛ اطلب رمزاً جديداً",
            "code_void",
        ),
        Outcome.EXPIRED: (
            "The verification code has expired; ask for a new code",
            "انتهت صلاحية رمز التحقق؛ اطلب رمزاً جديداً",
            "code_expired",
        ),
        Outcome.USED: (
            "This code was already used; ask for a new code",
            "استُخدم رمز التحقق هذا من قبل؛ اطلب رمزاً جديداً",
            "code_used",
        ),
    }
    detail, detail_ar, kind = texts[outcome]
    raise domain.Gone(detail, detail_ar, [_code_error("code", kind)])


def _code_error(field: str, kind: str) -> FieldError:
    messages = {
        "unknown_verification": (
            "Ask for a code first (POST /v1/verifications)",
            "اطلب رمز تحقق أولاً",
        ),
        "wrong_code": ("The code does not match the one sent", "الرمز لا يطابق الرمز المرسل"),
        "code_void": ("The code is void", "الرمز ملغى"),
        "code_expired": ("The code has expired", "انتهت صلاحية الرمز"),
        "code_used": ("The code was already used", "استُخدم الرمز من قبل"),
    }
    message, message_ar = messages[kind]
    return FieldError(field, message, message_ar, kind)


def _always(_: RenewalRequest) -> bool:
    return True


def _awaiting_payment(request: RenewalRequest) -> bool:
    return request.status is domain.Status.AWAITING_PAYMENT


__all__ = ["CodeSent", "Contractors", "DomainError", "Limits", "RenewalForm"]
