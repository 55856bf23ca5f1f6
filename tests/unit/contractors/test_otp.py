"""The one-time code: hashed, expires, counts wrong tries, voids at the limit, used once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.contractors import otp
from services.contractors.otp import CodeStatus, OtpPolicy, Outcome

SECRET = b"test-secret"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = OtpPolicy(ttl=timedelta(minutes=5), max_attempts=3)


def issued(code: str = "482913") -> otp.Verification:
    return otp.issue(
        verification_id="v1",
        owner_subject="citizen-1",
        phone="+962791234567",
        permit_id="P-1|2026",
        contractor_number="C-1",
        code=code,
        secret=SECRET,
        now=NOW,
        policy=POLICY,
    )


def test_the_code_is_kept_only_as_a_keyed_hash() -> None:
    verification = issued()
    assert "482913" not in verification.model_dump_json()
    assert verification.code_hash == otp.digest(SECRET, "v1", "482913")
    assert verification.code_hash != otp.digest(b"other", "v1", "482913")
    assert verification.expires_at == NOW + timedelta(minutes=5)


def test_new_codes_have_the_digits_asked_for() -> None:
    codes = {otp.new_code(6) for _ in range(50)}
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert len(codes) > 40


def test_the_right_code_is_accepted_once() -> None:
    result = otp.check(issued(), "482913", secret=SECRET, now=NOW + timedelta(minutes=1))
    assert result.outcome is Outcome.ACCEPTED and result.changed
    assert result.verification.status is CodeStatus.USED
    again = otp.check(result.verification, "482913", secret=SECRET, now=NOW)
    assert again.outcome is Outcome.USED and not again.changed


def test_wrong_codes_count_and_the_last_allowed_voids_it() -> None:
    verification = issued()
    outcomes = []
    for _ in range(3):
        result = otp.check(verification, "000000", secret=SECRET, now=NOW)
        outcomes.append(result.outcome)
        verification = result.verification
    assert outcomes == [Outcome.WRONG, Outcome.WRONG, Outcome.EXHAUSTED]
    assert verification.status is CodeStatus.VOID and verification.attempts_left == 0
    right = otp.check(verification, "482913", secret=SECRET, now=NOW)
    assert right.outcome is Outcome.VOID and not right.changed


def test_an_expired_code_is_refused_without_counting() -> None:
    result = otp.check(issued(), "482913", secret=SECRET, now=NOW + timedelta(minutes=5))
    assert result.outcome is Outcome.EXPIRED and not result.changed
    assert result.verification.attempts == 0
