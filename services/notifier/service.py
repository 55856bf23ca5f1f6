"""What the notifier does: record a message for an event or a command, send the due ones, apply
delivery receipts, and give up on messages that are never confirmed.

Recording and sending are apart on purpose. A consumer only records the message (`queued`, or
`permanent-failure` for a bad number), once per (event, template), and acknowledges; the sender
(`sender.py`), which claims each due message with a lease, sends it through the gateway and
`send_due` records the outcome. So a restart loses nothing and sends nothing twice, and several
replicas share the work.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from nacl.public import PrivateKey
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import Counter, Histogram

from contracts import Applicant, CloudEvent, ContractModel, SmsFailed, new_event
from contracts.notifier import SendSms
from services.common.change import EVENT, ChangedMeanwhile, StaleVersion, change
from services.common.clock import Clock
from services.common.codeseal import SealError, open_values
from services.common.errors import RuleBroken
from services.common.mongo import Document
from services.notifier.catalogue import (
    Catalogue,
    TemplateError,
    UnknownTemplate,
    command_context,
    event_context,
)
from services.notifier.domain import (
    FINAL,
    MASK,
    MAX_SEGMENTS,
    Accepted,
    GatewayResult,
    InvalidPhone,
    Message,
    Progress,
    ReceiptStatus,
    RetryPolicy,
    Status,
    Step,
    TemporaryFailure,
    after_gateway,
    after_receipt,
    after_unconfirmed,
    count_segments,
    give_up,
    invalid_phone,
    message_id,
    normalise_phone,
    queued,
    start_attempt,
)
from services.notifier.gateways import OutgoingSms, RateLimiter, SmsGateway
from services.notifier.sender import DueMessages
from services.notifier.store import (
    CONFIRM_BY,
    NEXT_ATTEMPT,
    Claimed,
    MessageStore,
    from_document,
)

logger = logging.getLogger(__name__)
_TRACER = trace.get_tracer("services.notifier")
_PROPAGATOR = TraceContextTextMapPropagator()

SMS_FAILED = "notifier.sms.failed.v1"
# The template name of a command that brings its own text.
FREE_TEXT = "text"

STEPS = Counter("notifier_sms_steps_total", "Message state changes recorded", ["status"])
GATEWAY_SECONDS = Histogram(
    "notifier_gateway_seconds", "Time the SMS gateway took to answer", ["gateway", "outcome"]
)


class NotifierError(RuleBroken):
    """A message that can never be recorded: the consumer dead-letters it with this reason (the
    platform's policy for an event the rules refuse)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, f"لا يمكن تسجيل هذه الرسالة: {detail}")


class UnknownMessage(LookupError):
    pass


class ReceiptConflict(RuntimeError):
    """The message kept changing while a receipt was applied: the provider should retry."""


class Sealer:
    """Keeps a sensitive text unreadable in the database until it is sent (Fernet: AES + HMAC)."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()


@dataclass(frozen=True)
class _Draft:
    """A message about to be recorded, before its phone number is checked."""

    event_id: str
    event_type: str
    template: str
    lang: str
    phone: str
    text: str
    kept_text: str
    is_sensitive: bool
    request_number: str | None
    owner_subject: str | None
    expires_at: datetime | None
    traceparent: str | None


class Notifier:
    def __init__(
        self,
        *,
        store: MessageStore,
        catalogue: Catalogue,
        gateway: SmsGateway,
        limiter: RateLimiter,
        policy: RetryPolicy,
        clock: Clock,
        sealer: Sealer,
        receipt_secret: bytes,
        due: DueMessages,
        jitter: Callable[[], float] = random.random,
        code_key: PrivateKey | None = None,
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        # The provider signs its delivery receipts with it (empty: every receipt is refused).
        self.receipt_secret = receipt_secret
        self.gateway = gateway
        self._limiter = limiter
        self._policy = policy
        self._clock = clock
        self._sealer = sealer
        # Opens the values senders sealed for the notifier (`sealed_values`); None: refused.
        self._code_key = code_key
        self._due = due
        self._jitter = jitter

    # ---- recording ---------------------------------------------------------------------------

    async def record_event(self, event: CloudEvent, data: ContractModel) -> None:
        """The SMS of a domain event, in the applicant's language, from the event's template."""
        applicant = getattr(data, "applicant", None)
        if not isinstance(applicant, Applicant):
            raise NotifierError(f"{event.routing_key} names no applicant to send an SMS to")
        with _unsendable():
            template = self.catalogue.entry(event.routing_key, "event").name
            text = self.catalogue.render(template, applicant.lang, event_context(data))
        request_number = getattr(data, "request_number", None) or event.subject
        # Not every event carries it yet: without it, only staff see the message (README).
        owner = event.data.get("owner_subject")
        await self._record(
            _Draft(
                event_id=event.id,
                event_type=event.type,
                template=template,
                lang=applicant.lang,
                phone=applicant.phone,
                text=text,
                kept_text=text,
                is_sensitive=False,
                request_number=request_number,
                owner_subject=owner if isinstance(owner, str) and owner else None,
                expires_at=None,
                traceparent=event.traceparent,
            )
        )

    async def record_command(self, event: CloudEvent, command: SendSms) -> None:
        """The SMS a service asked for; a sensitive one is kept masked and its text sealed."""
        if command.template is not None:
            with _unsendable():
                template = self.catalogue.entry(command.template, "command").name
                values = {**command.values, **self._opened(command)}
                context = command_context(values, command.expires_at)
                text = self.catalogue.render(template, command.lang, context)
                masked = command_context(dict.fromkeys(values, MASK), command.expires_at)
                kept = self.catalogue.render(template, command.lang, masked)
        else:
            assert command.text is not None  # the contract requires text or template
            template, text, kept = FREE_TEXT, command.text, MASK
        segments = count_segments(text).count
        if segments > MAX_SEGMENTS:
            raise NotifierError(f"the text needs {segments} SMS segments; at most {MAX_SEGMENTS}")
        await self._record(
            _Draft(
                # The sender's key, not the envelope's id: a command sent again is the same SMS.
                event_id=command.message_id,
                event_type=event.type,
                template=template,
                lang=command.lang,
                phone=command.phone,
                text=text,
                kept_text=kept if command.sensitive else text,
                is_sensitive=command.sensitive,
                request_number=command.request_number,
                owner_subject=command.owner_subject,
                expires_at=command.expires_at,
                traceparent=event.traceparent,
            )
        )

    def _opened(self, command: SendSms) -> dict[str, str]:
        """The sealed values of a command, opened only now, to render its text."""
        if command.sensitive and command.values:
            # Refused, so that a sender that leaks a secret on the broker finds out at once.
            raise NotifierError(
                "a sensitive command carries its values sealed (sealed_values), not in clear"
            )
        if command.sealed_values is None:
            return {}
        if self._code_key is None:
            raise NotifierError("sealed values, but the notifier has no code key to open them")
        try:
            return open_values(command.sealed_values, self._code_key)
        except SealError as error:
            raise NotifierError(str(error)) from None

    async def _record(self, draft: _Draft) -> None:
        now = self._clock.now()
        try:
            phone = normalise_phone(draft.phone)
            progress = queued(now)
        except InvalidPhone as error:
            # Retrying cannot mend a number: failed at once, with the reason.
            phone, progress = draft.phone, invalid_phone(now, f"invalid phone number: {error}")
        segments = count_segments(draft.text)
        message = Message(
            id=message_id(draft.event_id, draft.template),
            event_id=draft.event_id,
            event_type=draft.event_type,
            template=draft.template,
            lang=draft.lang,
            phone=phone,
            text=draft.kept_text,
            encoding=segments.encoding,
            characters=segments.characters,
            segments=segments.count,
            created_at=now,
            is_sensitive=draft.is_sensitive,
            request_number=draft.request_number,
            owner_subject=draft.owner_subject,
            sealed_text=(
                self._sealer.seal(draft.text)
                if draft.is_sensitive and not progress.has_failed
                else None
            ),
            expires_at=draft.expires_at,
            traceparent=draft.traceparent,
        )
        added = await self.store.add(message, progress, self._failure_events(message, progress))
        if not added:
            logger.info("SMS %s already recorded: nothing new", message.id)
            return
        if progress.next_attempt_at is not None:
            self._due.add(message.id)
        _count(progress)
        logger.info(
            "SMS %s recorded (%s, %s) to %s: %s",
            message.id,
            message.template,
            message.lang,
            message.phone_masked,
            progress.status,
            extra={"sms_id": message.id, "sms_status": str(progress.status)},
        )

    # ---- sending -----------------------------------------------------------------------------

    async def send_due(self, claimed: Claimed) -> None:
        """The sender claimed this message: send it and record what happened."""
        message = from_document(claimed.document)
        if claimed.started:
            # The claim recorded the attempt's start (store.claim): `sending` already.
            sending = message
            started = Progress((Step(Status.SENDING, self._clock.now()),), sending.attempts)
            self._recorded(sending, started)
        else:
            if message.status in FINAL or message.status is Status.SENT:
                await self.store.clear_deadline(message, NEXT_ATTEMPT)
                return
            now = self._clock.now()
            progress = start_attempt(message.state, now, self._policy, self._jitter())
            if progress.status is not Status.SENDING:
                await self._finish(message, progress)
                return
            if not await self._finish(message, progress):
                return  # changed meanwhile (a receipt, another replica): looked at again later
            sending = replace(
                message,
                status=Status.SENDING,
                attempts=progress.attempts,
                version=message.version + 1,
            )
        text = self._clear_text(message)
        if text is None:
            reason = "the sealed text cannot be opened (was the sealing key changed?)"
            await self._finish(sending, give_up(sending.state, self._clock.now(), reason))
            return
        await self._limiter.acquire()
        outgoing = OutgoingSms(message.id, message.phone, text, message.encoding, message.segments)
        result = await self._call_gateway(sending, outgoing)
        outcome = after_gateway(
            sending.state, result, self._clock.now(), self._policy, self._jitter()
        )
        provider_id = result.provider_id if isinstance(result, Accepted) else None
        await self._finish(sending, outcome, provider_id=provider_id)

    def _clear_text(self, message: Message) -> str | None:
        if not message.is_sensitive:
            return message.text
        if message.sealed_text is None:
            return None
        try:
            return self._sealer.open(message.sealed_text)
        except InvalidToken:
            return None

    async def _call_gateway(self, message: Message, outgoing: OutgoingSms) -> GatewayResult:
        parent = _PROPAGATOR.extract({"traceparent": message.traceparent or ""})
        started = time.perf_counter()
        with _TRACER.start_as_current_span(
            "sms send",
            context=parent if message.traceparent else None,
            kind=trace.SpanKind.CLIENT,
            attributes={
                "sms.id": message.id,
                "sms.gateway": self.gateway.name,
                "sms.attempt": message.attempts,
                "sms.segments": message.segments,
            },
        ):
            try:
                result: GatewayResult = await self.gateway.send(outgoing)
            except Exception as error:
                logger.exception("SMS %s: the gateway raised", message.id)
                result = TemporaryFailure(f"gateway error: {type(error).__name__}")
        GATEWAY_SECONDS.labels(self.gateway.name, type(result).__name__).observe(
            time.perf_counter() - started
        )
        return result

    async def expire_unconfirmed(self, document: Document) -> None:
        """A sent message reached `confirm_by` without a receipt: a temporary failure."""
        message = from_document(document)
        progress = after_unconfirmed(message.state, self._clock.now(), self._policy, self._jitter())
        if progress is None:
            await self.store.clear_deadline(message, CONFIRM_BY)
            return
        await self._finish(message, progress)

    # ---- receipts ----------------------------------------------------------------------------

    async def apply_receipt(
        self, reference: str, receipt: ReceiptStatus, reason: str | None = None
    ) -> Status:
        """Apply the provider's delivery receipt for a message; its status afterwards."""

        async def load() -> Message:
            message = await self.store.get(reference)
            if message is None:
                raise UnknownMessage(reference)
            return message

        def decide(message: Message) -> Progress | None:
            # None: late, repeated or out of turn, nothing to change.
            return after_receipt(
                message.state, receipt, self._clock.now(), self._policy, self._jitter(), reason
            )

        async def save(message: Message, progress: Progress) -> Status:
            await self._store_progress(message, progress)
            return progress.status

        try:
            status = await change(load, decide, save, attempts=EVENT)
        except ChangedMeanwhile:
            raise ReceiptConflict(reference) from None
        return status if status is not None else (await load()).status

    # ---- recording an outcome ----------------------------------------------------------------

    async def _finish(
        self, message: Message, progress: Progress, *, provider_id: str | None = None
    ) -> bool:
        """Record `progress`; False if the message changed meanwhile (a receipt, another
        replica): it is then left to whoever changed it, and looked at again later."""
        try:
            await self._store_progress(message, progress, provider_id=provider_id)
        except StaleVersion:
            return False
        return True

    async def _store_progress(
        self, message: Message, progress: Progress, *, provider_id: str | None = None
    ) -> None:
        """Record `progress` over the version `message` was read at (`StaleVersion` if it
        moved), with the failure event of a message that failed."""
        await self.store.record(
            message,
            progress,
            events=self._failure_events(message, progress),
            provider_id=provider_id,
            forget_sealed_text=progress.status in FINAL,
        )
        self._recorded(message, progress)

    def _recorded(self, message: Message, progress: Progress) -> None:
        """Count and log the steps just recorded."""
        _count(progress)
        logger.info(
            "SMS %s to %s: %s (attempt %d)%s",
            message.id,
            message.phone_masked,
            " -> ".join(step.status for step in progress.steps),
            progress.attempts,
            f": {progress.reason}" if progress.reason else "",
            extra={"sms_id": message.id, "sms_status": str(progress.status)},
        )

    def _failure_events(self, message: Message, progress: Progress) -> list[CloudEvent]:
        if not progress.has_failed:
            return []
        failed = SmsFailed(
            message_id=message.id,
            event_id=message.event_id,
            event_type=message.event_type,
            template=message.template,
            phone_masked=message.phone_masked,
            status="permanent-failure"
            if progress.status is Status.PERMANENT_FAILURE
            else "technical-failure",
            reason=(progress.reason or str(progress.status))[:500],
            request_number=message.request_number,
        )
        return [
            new_event(
                SMS_FAILED,
                failed,
                source_service="notifier",
                subject=message.request_number or message.id,
                time=progress.steps[-1].at,
                traceparent=message.traceparent,
            )
        ]


@contextlib.contextmanager
def _unsendable() -> Iterator[None]:
    """A template missing or not renderable with the values given: the message can never be
    recorded (`NotifierError`)."""
    try:
        yield
    except (TemplateError, UnknownTemplate) as error:
        raise NotifierError(str(error)) from error


def _count(progress: Progress) -> None:
    for step in progress.steps:
        STEPS.labels(step.status.value).inc()
