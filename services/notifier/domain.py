"""The notifier's rules: an SMS message's states and how it moves between them, and what an SMS
costs and whom it reaches (segments, encodings, phone numbers). Pure: no I/O.

The workflow is the table :data:`TRANSITIONS` (the README's state diagram is drawn from it). Each
function below takes a message's current state and what just happened, and returns the
:class:`Progress` to record: the steps taken (each with its time and reason), the attempts made, and
when to act next. The store writes it; nothing here knows how.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

# Re-exported: the notifier's modules name the phone rule through its domain.
from contracts.phones import InvalidPhone as InvalidPhone
from contracts.phones import jordan_mobile
from contracts.phones import mask_phone as mask_phone

# Dates, times and amounts follow the rules every service shares (services/common/formatting.py).
from services.common.formatting import AMMAN as AMMAN
from services.common.formatting import amman_clock as amman_clock
from services.common.formatting import amman_date as amman_date
from services.common.formatting import amman_time as amman_time
from services.common.formatting import deadline_text as deadline_text
from services.common.formatting import format_jod as format_jod

LANGUAGES: tuple[str, ...] = ("ar", "en")
DEFAULT_LANGUAGE = "ar"
# Every template must render within this many segments (a longer SMS costs more and arrives in
# pieces on older phones); a command's text above it is refused.
MAX_SEGMENTS = 3
# What a sensitive value (a one-time code) is replaced with wherever the message is kept.
MASK = "•••"


class Status(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"
    TECHNICAL_FAILURE = "technical-failure"

    @property
    def field_prefix(self) -> str:
        """`temporary-failure` -> `temporary_failure`: for the `<status>_at` time fields."""
        return self.value.replace("-", "_")


# What a citizen or an employee reads for each state (Arabic, English).
STATUS_LABELS: dict[Status, tuple[str, str]] = {
    Status.QUEUED: ("بانتظار الإرسال", "Waiting to be sent"),
    Status.SENDING: ("قيد الإرسال", "Being sent"),
    Status.SENT: ("أُرسلت", "Sent"),
    Status.DELIVERED: ("وصلت", "Delivered"),
    Status.TEMPORARY_FAILURE: ("تعذّر الإرسال مؤقتاً وستُعاد المحاولة", "Not sent yet; will retry"),
    Status.PERMANENT_FAILURE: ("تعذّر الإرسال إلى هذا الرقم", "Cannot be sent to this number"),
    Status.TECHNICAL_FAILURE: ("تعذّر الإرسال لخلل فني", "Not sent: technical failure"),
}

# The workflow as data: from each state, the states it may move to and what moves it there.
TRANSITIONS: dict[Status, dict[Status, str]] = {
    Status.QUEUED: {
        Status.SENDING: "its first attempt is due",
        Status.PERMANENT_FAILURE: "the phone number is not a Jordanian mobile number",
        Status.TECHNICAL_FAILURE: "it expired before it could be sent",
    },
    Status.SENDING: {
        Status.SENT: "the gateway accepted it",
        Status.DELIVERED: "a receipt confirmed it before the gateway's answer was recorded",
        Status.TEMPORARY_FAILURE: (
            "the gateway failed (5xx, 408, 429, timeout, no connection), or the sender stopped "
            "mid-attempt; attempts are left"
        ),
        Status.PERMANENT_FAILURE: "the gateway refused it (4xx), or a receipt said so",
        Status.TECHNICAL_FAILURE: (
            "the gateway failed and no attempt is left, or the sealed text cannot be opened"
        ),
    },
    Status.SENT: {
        Status.DELIVERED: "a delivery receipt confirmed it",
        Status.TEMPORARY_FAILURE: (
            "a receipt reported a temporary failure, or no receipt came in time; attempts are left"
        ),
        Status.PERMANENT_FAILURE: "a receipt said the number cannot receive it",
        Status.TECHNICAL_FAILURE: "as temporary-failure, but no attempt is left",
    },
    Status.TEMPORARY_FAILURE: {
        Status.SENDING: "its next attempt is due (exponential backoff with jitter)",
        Status.DELIVERED: "a late receipt confirmed an earlier attempt",
        Status.TECHNICAL_FAILURE: "it expired before its next attempt, or no attempt is left",
    },
    Status.DELIVERED: {},
    Status.PERMANENT_FAILURE: {},
    Status.TECHNICAL_FAILURE: {},
}

FINAL: frozenset[Status] = frozenset(state for state, moves in TRANSITIONS.items() if not moves)
FAILED: frozenset[Status] = frozenset({Status.PERMANENT_FAILURE, Status.TECHNICAL_FAILURE})
# States in which the sender may pick a message up (a `sending` one only if its sender vanished).
SENDABLE: frozenset[Status] = frozenset({Status.QUEUED, Status.TEMPORARY_FAILURE, Status.SENDING})
# The sendable states whose attempt starts with nothing else to record, as long as the message has
# not expired: `start_attempt` returns their one `sending` step. The sender's claim records that
# start in the same write (store.claim); a message found in any other state is claimed first, and
# `start_attempt` decides.
STARTS_AT_ONCE: frozenset[Status] = frozenset({Status.QUEUED, Status.TEMPORARY_FAILURE})


class InvalidTransition(ValueError):
    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(f"a message cannot move from {current} to {target}")
        self.current = current
        self.target = target


def can_move(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


# ---- what the gateway and the receipts say ----------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """The gateway took the message. `is_delivered`: it also confirmed delivery already.
    `reason`: kept with the `sent` step when the gateway has something to say about it."""

    provider_id: str | None = None
    is_delivered: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class TemporaryFailure:
    """Worth trying again later (the gateway is down, slow, or busy)."""

    reason: str


@dataclass(frozen=True)
class PermanentFailure:
    """Never worth trying again (a bad number, a refused message)."""

    reason: str


GatewayResult = Accepted | TemporaryFailure | PermanentFailure
ReceiptStatus = Literal["delivered", "temporary-failure", "permanent-failure"]


# ---- the message --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageState:
    """What the rules need to know about a stored message."""

    status: Status
    attempts: int = 0
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Step:
    """One recorded move: the state reached, when, and why."""

    status: Status
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class Message:
    """One SMS to one phone, for one event (or command) and template: what is kept of it.

    `text` is what is kept and shown: for a sensitive message, its values (or all of it)
    masked; the clear text then exists only sealed (`sealed_text`) until the message is done.
    `phone` is E.164 when it was valid, else as it was given.
    """

    id: str
    event_id: str
    event_type: str
    template: str
    lang: str
    phone: str
    text: str
    encoding: Encoding
    characters: int
    segments: int
    created_at: datetime
    is_sensitive: bool = False
    request_number: str | None = None
    owner_subject: str | None = None
    sealed_text: str | None = None
    expires_at: datetime | None = None
    traceparent: str | None = None
    status: Status = Status.QUEUED
    attempts: int = 0
    version: int = 0
    reason: str | None = None
    provider_id: str | None = None
    history: tuple[Step, ...] = ()

    @property
    def state(self) -> MessageState:
        return MessageState(self.status, self.attempts, self.expires_at)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    def first(self, status: Status) -> datetime | None:
        """When the message first reached `status` (None if it never did)."""
        return next((step.at for step in self.history if step.status is status), None)

    def last(self, status: Status) -> datetime | None:
        return next((step.at for step in reversed(self.history) if step.status is status), None)


@dataclass(frozen=True)
class Progress:
    """What to record after an action: the steps, the attempts so far, and what comes next."""

    steps: tuple[Step, ...]
    attempts: int
    # When the sender should pick the message up again; None: not by the sender.
    next_attempt_at: datetime | None = None
    # When a sent message counts as unconfirmed; None: no receipt awaited.
    confirm_by: datetime | None = None

    @property
    def status(self) -> Status:
        return self.steps[-1].status

    @property
    def has_failed(self) -> bool:
        """The message finally failed: `notifier.sms.failed.v1` is published with it."""
        return self.status in FAILED

    @property
    def reason(self) -> str | None:
        return self.steps[-1].reason


@dataclass(frozen=True)
class RetryPolicy:
    """Retries with exponential backoff and jitter, up to `max_attempts` sends in all."""

    max_attempts: int = 5
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=1)
    # A sent message with no receipt after this long is a temporary failure (GOV.UK Notify: 3 days).
    unconfirmed_after: timedelta = timedelta(days=3)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay(self, attempt: int, jitter: float) -> timedelta:
        """The wait after failed attempt number `attempt` (1, 2, ...); `jitter` in [0, 1).

        "Equal jitter": half of the exponential delay, plus a random part of the other half, so
        that retries of many messages spread out yet never come sooner than half the delay.
        """
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        exponential: timedelta = self.backoff_base * (2 ** max(attempt - 1, 0))
        capped = min(exponential, self.backoff_max)
        return capped / 2 + capped / 2 * jitter


def _move(state: MessageState, target: Status, at: datetime, reason: str | None = None) -> Step:
    if not can_move(state.status, target):
        raise InvalidTransition(state.status, target)
    return Step(target, at, reason)


def _retry_or_give_up(
    state: MessageState,
    reason: str,
    now: datetime,
    policy: RetryPolicy,
    jitter: float,
    steps: tuple[Step, ...] = (),
) -> Progress:
    """After a temporary failure: try again after the backoff, or give up if nothing is left."""
    retry_at = now + policy.delay(state.attempts, jitter)
    if state.attempts >= policy.max_attempts:
        reason = f"gave up after {state.attempts} attempt(s): {reason}"
        step = _move(state, Status.TECHNICAL_FAILURE, now, reason)
        return Progress((*steps, step), state.attempts)
    if state.expires_at is not None and retry_at >= state.expires_at:
        step = _move(state, Status.TECHNICAL_FAILURE, now, f"expires before a retry: {reason}")
        return Progress((*steps, step), state.attempts)
    step = _move(state, Status.TEMPORARY_FAILURE, now, reason)
    return Progress((*steps, step), state.attempts, next_attempt_at=retry_at)


def start_attempt(
    state: MessageState, now: datetime, policy: RetryPolicy, jitter: float
) -> Progress:
    """The sender picked the message up: send it now, or say why not.

    A message found `sending` was left by a sender that stopped mid-attempt (a crash, a lost
    lease): that attempt counts as a temporary failure, and the message is sent again with the
    same reference, so that a provider that deduplicates on it sends it once.
    """
    if state.status not in SENDABLE:
        raise InvalidTransition(state.status, Status.SENDING)
    steps: tuple[Step, ...] = ()
    if state.status is Status.SENDING:
        interrupted = "the sender stopped during the attempt"
        if state.attempts >= policy.max_attempts:
            return _retry_or_give_up(state, interrupted, now, policy, jitter)
        steps = (Step(Status.TEMPORARY_FAILURE, now, interrupted),)
        state = MessageState(Status.TEMPORARY_FAILURE, state.attempts, state.expires_at)
    if state.expires_at is not None and now >= state.expires_at:
        step = _move(state, Status.TECHNICAL_FAILURE, now, "expired before it could be sent")
        return Progress((*steps, step), state.attempts)
    # Still due while it is being sent: if this sender dies, another picks it up once the
    # sender's lease runs out, and finds it `sending`.
    return Progress((*steps, _move(state, Status.SENDING, now)), state.attempts + 1, now)


def after_gateway(
    state: MessageState,
    result: GatewayResult,
    now: datetime,
    policy: RetryPolicy,
    jitter: float,
) -> Progress:
    """Record the gateway's answer to the attempt in progress (`state` is `sending`)."""
    if isinstance(result, Accepted):
        sent = _move(state, Status.SENT, now, result.reason)
        if result.is_delivered:
            delivered = Step(Status.DELIVERED, now)
            return Progress((sent, delivered), state.attempts)
        return Progress((sent,), state.attempts, confirm_by=now + policy.unconfirmed_after)
    if isinstance(result, PermanentFailure):
        return Progress(
            (_move(state, Status.PERMANENT_FAILURE, now, result.reason),), state.attempts
        )
    return _retry_or_give_up(state, result.reason, now, policy, jitter)


def after_receipt(
    state: MessageState,
    receipt: ReceiptStatus,
    now: datetime,
    policy: RetryPolicy,
    jitter: float,
    reason: str | None = None,
) -> Progress | None:
    """Apply a delivery receipt; None when it changes nothing (late, repeated, or out of turn)."""
    if receipt == "delivered":
        if not can_move(state.status, Status.DELIVERED):
            return None
        return Progress((Step(Status.DELIVERED, now),), state.attempts)
    if state.status not in (Status.SENDING, Status.SENT):
        return None
    if receipt == "permanent-failure":
        why = reason or "the provider could not deliver it to this number"
        return Progress((Step(Status.PERMANENT_FAILURE, now, why),), state.attempts)
    why = reason or "the provider could not deliver it for now"
    return _retry_or_give_up(state, why, now, policy, jitter)


def after_unconfirmed(
    state: MessageState, now: datetime, policy: RetryPolicy, jitter: float
) -> Progress | None:
    """A sent message whose receipt never came: a temporary failure (None if no longer sent)."""
    if state.status is not Status.SENT:
        return None
    waited = _duration(policy.unconfirmed_after)
    return _retry_or_give_up(state, f"no delivery receipt within {waited}", now, policy, jitter)


def give_up(state: MessageState, now: datetime, reason: str) -> Progress:
    """A failure no retry can mend, found during an attempt (e.g. the text cannot be read)."""
    return Progress((_move(state, Status.TECHNICAL_FAILURE, now, reason),), state.attempts)


def invalid_phone(now: datetime, reason: str) -> Progress:
    """A message recorded for a number that cannot receive SMS: failed at once, never retried."""
    queued = MessageState(Status.QUEUED)
    return Progress(
        (Step(Status.QUEUED, now), _move(queued, Status.PERMANENT_FAILURE, now, reason)), 0
    )


def queued(now: datetime) -> Progress:
    return Progress((Step(Status.QUEUED, now),), 0, next_attempt_at=now)


def _duration(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds >= 86400 and seconds % 86400 == 0:
        return f"{int(seconds // 86400)} day(s)"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} hour(s)"
    return f"{seconds:g} s"


# ---- delivery receipts --------------------------------------------------------------------------

SIGNATURE_SCHEME = "sha256="


def receipt_signature(secret: bytes, body: bytes) -> str:
    """How the provider signs a delivery receipt: `sha256=` + hex HMAC-SHA256 of the raw body."""
    return SIGNATURE_SCHEME + hmac.new(secret, body, hashlib.sha256).hexdigest()


def is_signed(secret: bytes, body: bytes, signature: str | None) -> bool:
    """True only for a non-empty secret and the body's exact signature (compared in constant
    time); an unconfigured secret accepts nothing."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(receipt_signature(secret, body), signature.strip())


# ---- identity ----------------------------------------------------------------------------------

_MESSAGE_NAMESPACE = uuid.UUID("5b0c7f3e-8d1a-4c52-9e0b-6a2f1d4e7c90")


def message_id(event_id: str, template: str) -> str:
    """The message's id: the same for the same (event, template), so a redelivery finds it."""
    return uuid.uuid5(_MESSAGE_NAMESPACE, f"{event_id}\x00{template}").hex


def template_file(template: str, lang: str) -> str:
    """The file of a template in a language: `<template>.<lang>.j2` (Arabic if unknown)."""
    return f"{template}.{lang if lang in LANGUAGES else DEFAULT_LANGUAGE}.j2"


# ---- phones ------------------------------------------------------------------------------------

# The rule is the contract's (contracts/phones.py): the services that take a phone apply it too.
normalise_phone = jordan_mobile


# ---- segments ----------------------------------------------------------------------------------

# GSM 03.38: the basic character set (one septet each) and its extension table (an escape septet
# plus one: two each). ESC itself (0x1B) is not a character of a message.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class Segments:
    """How an SMS text travels: its encoding, its length in characters, and its parts."""

    encoding: Encoding
    characters: int
    count: int
    # Capacity of a part: septets (GSM-7) or UTF-16 code units (UCS-2).
    per_segment: int


def is_gsm7(text: str) -> bool:
    return all(character in GSM7_BASIC or character in GSM7_EXTENSION for character in text)


def count_segments(text: str) -> Segments:
    """GSM-7 when every character is in the GSM alphabet (160 septets, or 153 a part when
    concatenated); UCS-2 otherwise, as for any Arabic text (70 code units, or 67 a part).

    A part never splits an escape sequence (GSM-7) or a surrogate pair (UCS-2), as handsets and
    gateways do, so a text can need one part more than its length divided by the capacity.
    """
    if is_gsm7(text):
        units = [2 if character in GSM7_EXTENSION else 1 for character in text]
        encoding: Encoding = "GSM-7"
        single, part = 160, 153
    else:
        units = [len(character.encode("utf-16-le")) // 2 for character in text]
        encoding = "UCS-2"
        single, part = 70, 67
    total = sum(units)
    if total <= single:
        return Segments(encoding, len(text), 1 if text else 0, single)
    count, filled = 1, 0
    for size in units:
        if filled + size > part:
            count, filled = count + 1, 0
        filled += size
    return Segments(encoding, len(text), count, part)


# ---- what the texts show -----------------------------------------------------------------------


def shorten(text: str, width: int) -> str:
    """At most `width` characters, cut at a word and marked with `...` when cut (three dots,
    not `…`, which is not in the GSM alphabet and would make an English SMS cost double)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 3]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ،,.:;-") + "..."


def end_sentence(text: str) -> str:
    """`text` ending with one full stop, unless it already ends a sentence (or with `...`)."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "؟")) else text + "."


def one_line(text: str) -> str:
    """A rendered template as one SMS line: template files wrap, SMS texts do not."""
    return " ".join(text.split())
