"""A message's states: the workflow table, retries with backoff, receipts and the unconfirmed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.domain import (
    FINAL,
    TRANSITIONS,
    Accepted,
    InvalidTransition,
    MessageState,
    PermanentFailure,
    RetryPolicy,
    Status,
    TemporaryFailure,
    after_gateway,
    after_receipt,
    after_unconfirmed,
    invalid_phone,
    is_signed,
    queued,
    receipt_signature,
    start_attempt,
)

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    max_attempts=3,
    backoff_base=timedelta(seconds=10),
    backoff_max=timedelta(seconds=25),
    unconfirmed_after=timedelta(days=3),
)
SENDING_1 = MessageState(Status.SENDING, attempts=1)


def statuses(progress: object) -> list[Status]:
    return [step.status for step in progress.steps]  # type: ignore[attr-defined]


def test_final_states_lead_nowhere_and_every_other_state_leads_somewhere() -> None:
    assert {Status.DELIVERED, Status.PERMANENT_FAILURE, Status.TECHNICAL_FAILURE} == FINAL
    assert all(TRANSITIONS[state] for state in Status if state not in FINAL)
    assert set(TRANSITIONS) == set(Status)


def test_a_new_message_is_queued_and_due_at_once() -> None:
    progress = queued(NOW)

    assert statuses(progress) == [Status.QUEUED]
    assert progress.next_attempt_at == NOW
    assert progress.attempts == 0


def test_an_invalid_number_fails_at_once_and_is_never_due() -> None:
    progress = invalid_phone(NOW, "invalid phone number: not a phone number")

    assert statuses(progress) == [Status.QUEUED, Status.PERMANENT_FAILURE]
    assert progress.has_failed
    assert progress.next_attempt_at is None
    assert progress.reason == "invalid phone number: not a phone number"


def test_an_attempt_counts_and_stays_due_while_it_runs() -> None:
    progress = start_attempt(MessageState(Status.QUEUED), NOW, POLICY, 0.5)

    assert statuses(progress) == [Status.SENDING]
    assert progress.attempts == 1
    assert progress.next_attempt_at == NOW


def test_accepted_waits_for_a_receipt_until_the_unconfirmed_time() -> None:
    progress = after_gateway(SENDING_1, Accepted("p-1"), NOW, POLICY, 0.0)

    assert statuses(progress) == [Status.SENT]
    assert progress.confirm_by == NOW + timedelta(days=3)
    assert progress.next_attempt_at is None


def test_accepted_and_delivered_at_once_is_sent_then_delivered() -> None:
    progress = after_gateway(SENDING_1, Accepted("p-1", is_delivered=True), NOW, POLICY, 0.0)

    assert statuses(progress) == [Status.SENT, Status.DELIVERED]
    assert progress.confirm_by is None


def test_a_temporary_failure_is_retried_after_the_backoff() -> None:
    progress = after_gateway(SENDING_1, TemporaryFailure("HTTP 503"), NOW, POLICY, 0.0)

    assert statuses(progress) == [Status.TEMPORARY_FAILURE]
    assert progress.next_attempt_at == NOW + timedelta(seconds=5)
    assert progress.reason == "HTTP 503"
    assert not progress.has_failed


def test_the_last_attempt_failing_is_a_technical_failure() -> None:
    progress = after_gateway(
        MessageState(Status.SENDING, attempts=3), TemporaryFailure("HTTP 503"), NOW, POLICY, 0.0
    )

    assert statuses(progress) == [Status.TECHNICAL_FAILURE]
    assert progress.has_failed
    assert progress.reason == "gave up after 3 attempt(s): HTTP 503"
    assert progress.next_attempt_at is None


def test_a_permanent_failure_is_never_retried() -> None:
    progress = after_gateway(SENDING_1, PermanentFailure("HTTP 400"), NOW, POLICY, 0.9)

    assert statuses(progress) == [Status.PERMANENT_FAILURE]
    assert progress.has_failed
    assert progress.next_attempt_at is None


@pytest.mark.parametrize(
    ("attempt", "jitter", "seconds"),
    [(1, 0.0, 5), (1, 0.999, 9.995), (2, 0.0, 10), (2, 0.5, 15), (3, 0.0, 12.5), (9, 0.0, 12.5)],
)
def test_backoff_doubles_with_equal_jitter_and_is_capped(
    attempt: int, jitter: float, seconds: float
) -> None:
    assert POLICY.delay(attempt, jitter).total_seconds() == pytest.approx(seconds)


def test_jitter_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="jitter"):
        POLICY.delay(1, 1.0)


def test_a_message_left_sending_by_a_stopped_sender_is_sent_again() -> None:
    progress = start_attempt(SENDING_1, NOW, POLICY, 0.0)

    assert statuses(progress) == [Status.TEMPORARY_FAILURE, Status.SENDING]
    assert progress.attempts == 2
    assert progress.steps[0].reason == "the sender stopped during the attempt"


def test_a_message_left_sending_on_its_last_attempt_is_given_up() -> None:
    progress = start_attempt(MessageState(Status.SENDING, attempts=3), NOW, POLICY, 0.0)

    assert statuses(progress) == [Status.TECHNICAL_FAILURE]


def test_an_expired_message_is_not_sent() -> None:
    state = MessageState(Status.QUEUED, expires_at=NOW - timedelta(seconds=1))

    progress = start_attempt(state, NOW, POLICY, 0.0)

    assert statuses(progress) == [Status.TECHNICAL_FAILURE]
    assert progress.reason == "expired before it could be sent"


def test_a_retry_that_would_come_after_the_expiry_is_not_scheduled() -> None:
    state = MessageState(Status.SENDING, attempts=1, expires_at=NOW + timedelta(seconds=2))

    progress = after_gateway(state, TemporaryFailure("HTTP 503"), NOW, POLICY, 0.0)

    assert statuses(progress) == [Status.TECHNICAL_FAILURE]
    assert progress.reason == "expires before a retry: HTTP 503"


@pytest.mark.parametrize("status", sorted(FINAL | {Status.SENT}))
def test_the_sender_does_not_take_a_final_or_sent_message(status: Status) -> None:
    with pytest.raises(InvalidTransition):
        start_attempt(MessageState(status, attempts=1), NOW, POLICY, 0.0)


def test_a_delivered_receipt_confirms_a_sent_message() -> None:
    progress = after_receipt(MessageState(Status.SENT, 1), "delivered", NOW, POLICY, 0.0)

    assert progress is not None
    assert statuses(progress) == [Status.DELIVERED]
    assert progress.confirm_by is None


def test_a_receipt_that_overtakes_the_gateways_answer_still_counts() -> None:
    progress = after_receipt(SENDING_1, "delivered", NOW, POLICY, 0.0)

    assert progress is not None and progress.status is Status.DELIVERED


def test_a_late_delivered_receipt_cancels_the_retry() -> None:
    state = MessageState(Status.TEMPORARY_FAILURE, attempts=1)

    progress = after_receipt(state, "delivered", NOW, POLICY, 0.0)

    assert progress is not None and progress.status is Status.DELIVERED
    assert progress.next_attempt_at is None


@pytest.mark.parametrize("status", sorted(FINAL))
def test_a_receipt_after_a_final_state_changes_nothing(status: Status) -> None:
    for receipt in ("delivered", "temporary-failure", "permanent-failure"):
        assert after_receipt(MessageState(status, 1), receipt, NOW, POLICY, 0.0) is None  # type: ignore[arg-type]


def test_a_permanent_failure_receipt_fails_the_message() -> None:
    progress = after_receipt(
        MessageState(Status.SENT, 1), "permanent-failure", NOW, POLICY, 0.0, "unknown subscriber"
    )

    assert progress is not None
    assert statuses(progress) == [Status.PERMANENT_FAILURE]
    assert progress.reason == "unknown subscriber"


def test_a_temporary_failure_receipt_is_retried() -> None:
    progress = after_receipt(MessageState(Status.SENT, 1), "temporary-failure", NOW, POLICY, 0.0)

    assert progress is not None
    assert statuses(progress) == [Status.TEMPORARY_FAILURE]
    assert progress.next_attempt_at == NOW + timedelta(seconds=5)


def test_an_unconfirmed_message_is_a_temporary_failure_and_is_retried() -> None:
    progress = after_unconfirmed(MessageState(Status.SENT, 1), NOW, POLICY, 0.0)

    assert progress is not None
    assert statuses(progress) == [Status.TEMPORARY_FAILURE]
    assert progress.reason == "no delivery receipt within 3 day(s)"
    assert progress.next_attempt_at is not None


def test_an_unconfirmed_last_attempt_is_a_technical_failure() -> None:
    progress = after_unconfirmed(MessageState(Status.SENT, 3), NOW, POLICY, 0.0)

    assert progress is not None and progress.status is Status.TECHNICAL_FAILURE


def test_the_unconfirmed_rule_ignores_a_message_no_longer_sent() -> None:
    assert after_unconfirmed(MessageState(Status.DELIVERED, 1), NOW, POLICY, 0.0) is None


def test_a_receipt_is_signed_with_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"reference":"abc","status":"delivered"}'
    signature = receipt_signature(b"secret", body)

    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert is_signed(b"secret", body, signature)
    assert not is_signed(b"secret", body + b" ", signature)
    assert not is_signed(b"other", body, signature)
    assert not is_signed(b"secret", body, None)
    assert not is_signed(b"", body, receipt_signature(b"", body)), "no secret accepts nothing"
