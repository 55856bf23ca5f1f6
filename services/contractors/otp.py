"""The one-time verification code of step 2 (seed 001). Pure: no I/O.

A code is issued for one citizen, one phone and one permit, sent by SMS, and never kept in clear:
the service keeps an HMAC-SHA256 of it under a server secret (`CONTRACTORS_OTP_SECRET`), salted
with the verification's id, so the stored value cannot be reversed by trying the million codes
without the secret. A code is valid for `ttl` (5 minutes by default), allows `max_attempts` wrong
tries (5) after which it is void, and is consumed by the submission that uses it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class CodeStatus(StrEnum):
    PENDING = "pending"
    USED = "used"
    VOID = "void"


@dataclass(frozen=True)
class OtpPolicy:
    """The code's rules, from the settings (documented in the README)."""

    ttl: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    digits: int = 6
    resend_after: timedelta = timedelta(seconds=60)
    per_phone_per_hour: int = 5


def new_code(digits: int) -> str:
    """A uniformly random numeric code of `digits` digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def digest(secret: bytes, verification_id: str, code: str) -> str:
    return hmac.new(secret, f"{verification_id}:{code}".encode(), hashlib.sha256).hexdigest()


class Verification(BaseModel):
    """One code sent: whose, to which phone, for which permit; its hash, expiry and attempts."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    owner_subject: str
    phone: str
    permit_id: str
    contractor_number: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    max_attempts: int
    status: CodeStatus = CodeStatus.PENDING
    version: int = 0
    # The idempotency key id of the submission that used the code: its retry (after a crash
    # between using the code and storing the request) may use it again.
    used_under: str | None = None

    @property
    def attempts_left(self) -> int:
        return max(self.max_attempts - self.attempts, 0)


def issue(
    *,
    verification_id: str,
    owner_subject: str,
    phone: str,
    permit_id: str,
    contractor_number: str,
    code: str,
    secret: bytes,
    now: datetime,
    policy: OtpPolicy,
) -> Verification:
    return Verification(
        id=verification_id,
        owner_subject=owner_subject,
        phone=phone,
        permit_id=permit_id,
        contractor_number=contractor_number,
        code_hash=digest(secret, verification_id, code),
        created_at=now,
        expires_at=now + policy.ttl,
        max_attempts=policy.max_attempts,
    )


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXHAUSTED = "exhausted"  # this wrong try was the last allowed: the code is void now
    EXPIRED = "expired"
    VOID = "void"
    USED = "used"


@dataclass(frozen=True)
class Check:
    outcome: Outcome
    verification: Verification
    changed: bool


def check(verification: Verification, code: str, *, secret: bytes, now: datetime) -> Check:
    """Try `code`. Accepted consumes the code; a wrong one counts, and the last allowed wrong
    one voids it. An expired, void or used code is refused without counting."""
    if verification.status is CodeStatus.USED:
        return Check(Outcome.USED, verification, changed=False)
    if verification.status is CodeStatus.VOID:
        return Check(Outcome.VOID, verification, changed=False)
    if now >= verification.expires_at:
        return Check(Outcome.EXPIRED, verification, changed=False)
    expected = verification.code_hash
    given = digest(secret, verification.id, code)
    if hmac.compare_digest(expected, given):
        used = verification.model_copy(update={"status": CodeStatus.USED})
        return Check(Outcome.ACCEPTED, used, changed=True)
    attempts = verification.attempts + 1
    if attempts >= verification.max_attempts:
        void = verification.model_copy(update={"attempts": attempts, "status": CodeStatus.VOID})
        return Check(Outcome.EXHAUSTED, void, changed=True)
    return Check(
        Outcome.WRONG, verification.model_copy(update={"attempts": attempts}), changed=True
    )
