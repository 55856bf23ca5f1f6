"""Pure pieces of the shared runtime: outbox staging, settings, clocks, consumer helpers."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from pydantic import BaseModel, ValidationError

from contracts import Applicant, PaymentCancelled, new_event
from services.common.clock import FileClock, ManualClock, set_file_clock
from services.common.consumer import KeyedLocks, Reject, describe, typed_handler
from services.common.errors import NotAllowedNow
from services.common.outbox import OUTBOX_FIELD, Outbox, OutboxEntry, new_events
from services.common.settings import Environment, QueueType, ServiceSettings

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def an_event(reason: str = "withdrawn") -> object:
    return new_event(
        "exams.payment.cancelled.v1",
        PaymentCancelled(
            payment_reference="exams:EX-2026-000001:fee",
            request_number="EX-2026-000001",
            reason=reason,
        ),
        source_service="exams",
        subject="EX-2026-000001",
        time=NOW,
    )


def test_stage_appends_events_in_order_beside_the_state_change() -> None:
    first, second = an_event("a"), an_event("b")
    update = Outbox.stage(
        {"$set": {"status": "cancelled"}, "$inc": {"version": 1}}, [first, second]
    )  # type: ignore[list-item]

    # The flag the relay's backstop scan finds pending documents by, in the same write.
    assert update["$set"] == {"status": "cancelled", "outbox_pending": True}
    assert update["$inc"] == {"version": 1}
    entries = update["$push"][OUTBOX_FIELD]["$each"]
    assert [entry["id"] for entry in entries] == [first.id, second.id]  # type: ignore[attr-defined]
    assert entries[0]["routing_key"] == "exams.payment.cancelled.v1"


def test_stage_leaves_the_callers_update_untouched_and_no_events_adds_nothing() -> None:
    original = {"$set": {"status": "x"}}
    Outbox.stage(original, [an_event()])  # type: ignore[list-item]
    assert original == {"$set": {"status": "x"}}
    assert Outbox.stage(original, []) is original


@dataclass(frozen=True)
class _Raised:
    routing_key: str
    data: PaymentCancelled


def test_new_events_builds_one_envelope_per_pair_or_record_in_order() -> None:
    first = PaymentCancelled(
        payment_reference="exams:EX-2026-000001:fee", request_number="EX-2026-000001", reason="a"
    )
    second = first.model_copy(update={"reason": "b"})
    key = "exams.payment.cancelled.v1"
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    with patch("services.common.outbox.current_traceparent", return_value=traceparent):
        events = new_events(
            [(key, first), _Raised(key, second)],
            source_service="exams",
            subject="EX-2026-000001",
            time=NOW,
        )

    assert [event.routing_key for event in events] == [key, key]
    assert [event.data["reason"] for event in events] == ["a", "b"]
    assert {event.source for event in events} == {an_event().source}  # type: ignore[attr-defined]
    assert {event.subject for event in events} == {"EX-2026-000001"}
    assert {event.time for event in events} == {NOW}
    assert {event.traceparent for event in events} == {traceparent}
    assert events[0].id != events[1].id
    assert new_events([], source_service="exams", subject="EX-2026-000001", time=NOW) == []


def test_an_entry_keeps_the_event_byte_for_byte() -> None:
    event = an_event()
    entry = OutboxEntry.from_event(event)  # type: ignore[arg-type]
    assert entry.body.encode() == event.to_json()  # type: ignore[attr-defined]
    assert OutboxEntry.from_document(entry.to_document()) == entry
    assert datetime.fromisoformat(entry.time) == NOW


def test_settings_read_lists_from_comma_separated_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALENDAR_CLOSURES", "2026-12-01, 2026-12-02")
    monkeypatch.setenv("QUEUE_TYPE", "classic")
    settings = ServiceSettings()
    assert [day.isoformat() for day in settings.calendar_closures] == ["2026-12-01", "2026-12-02"]
    assert settings.queue_type is QueueType.CLASSIC
    assert settings.database_name == settings.service_name


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"clock_file": Path("/tmp/clock"), "jwt_public_key": "k", "amqp_url": "amqp://u:p@h/"},
            "CLOCK_FILE",
        ),
        ({"amqp_url": "amqp://u:p@h/"}, "JWT_PUBLIC_KEY"),
        ({"jwt_public_key": "k", "metrics_port": 9090}, "guest"),
        (
            {"jwt_public_key": "k", "amqp_url": "amqp://u:p@h/", "metrics_port": 9090},
            "JWT_ISSUER and JWT_AUDIENCE",
        ),
        (
            {
                "jwt_public_key": "k",
                "amqp_url": "amqp://u:p@h/",
                "jwt_issuer": "https://id/",
                "metrics_port": 9090,
            },
            "JWT_ISSUER and JWT_AUDIENCE",
        ),
        (
            {
                "jwt_public_key": "k",
                "amqp_url": "amqp://u:p@h/",
                "jwt_issuer": "https://id/",
                "jwt_audience": "a",
            },
            "METRICS_PORT",
        ),
        (
            {
                "jwt_public_key": "k",
                "amqp_url": "amqp://u:p@h/",
                "jwt_issuer": "https://id/",
                "jwt_audience": "a",
                "metrics_port": 8000,
            },
            "METRICS_PORT must differ",
        ),
    ],
)
def test_production_refuses_unsafe_settings(override: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ServiceSettings(environment=Environment.PRODUCTION, **override)  # type: ignore[arg-type]


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(NOW)
    assert clock.now() == NOW
    clock.advance(timedelta(days=3))
    assert clock.now() == NOW + timedelta(days=3)
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 1, 1))


def test_file_clock_jumps_to_the_written_instant_and_then_runs(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock = FileClock(path, check_seconds=0)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    target = datetime(2030, 1, 1, tzinfo=UTC)
    set_file_clock(path, target)
    os.utime(path)
    assert timedelta(0) <= clock.now() - target < timedelta(seconds=5)


def test_describe_names_every_failing_field_without_the_input() -> None:
    class Shape(BaseModel):
        phone: str
        amount: int

    with pytest.raises(ValidationError) as caught:
        Shape.model_validate({"amount": "secret-value"})
    reason = describe(caught.value)
    assert "phone: Field required" in reason
    assert "amount:" in reason
    assert "secret-value" not in reason


async def test_keyed_locks_run_one_subject_at_a_time_in_arrival_order() -> None:
    locks = KeyedLocks()
    order: list[str] = []

    async def work(key: str, name: str, pause: float) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            await asyncio.sleep(pause)
            order.append(f"{name}-")

    await asyncio.gather(work("r1", "a", 0.02), work("r1", "b", 0), work("r2", "c", 0))
    assert order.index("a-") < order.index("b+"), "same subject: strictly one after the other"
    assert order.index("c+") < order.index("a-"), "another subject does not wait"
    assert locks._locks == {}


CANCELLED = PaymentCancelled(
    payment_reference="exams:EX-2026-000001:fee", request_number="EX-2026-000001", reason="x"
)


async def test_typed_handler_hands_the_data_to_the_use_case_and_drops_its_result() -> None:
    seen: list[PaymentCancelled] = []

    async def use_case(data: PaymentCancelled) -> str:
        seen.append(data)
        return "ignored"

    await typed_handler(PaymentCancelled, use_case)(an_event(), CANCELLED)  # type: ignore[arg-type]
    assert seen == [CANCELLED]


async def test_typed_handler_rejects_data_of_another_model_without_running() -> None:
    async def use_case(data: Applicant) -> None:
        raise AssertionError("not reached")

    with pytest.raises(Reject) as caught:
        await typed_handler(Applicant, use_case)(an_event(), CANCELLED)  # type: ignore[arg-type]
    assert str(caught.value) == "expected Applicant, got PaymentCancelled"


async def test_typed_handler_rejects_a_domain_refusal_with_its_detail_and_retries_the_rest() -> (
    None
):
    async def refuses(data: PaymentCancelled) -> None:
        raise NotAllowedNow("The bill is already paid", "تم دفع الفاتورة")

    async def breaks(data: PaymentCancelled) -> None:
        raise RuntimeError("database hiccup")

    with pytest.raises(Reject) as caught:
        await typed_handler(PaymentCancelled, refuses)(an_event(), CANCELLED)  # type: ignore[arg-type]
    assert str(caught.value) == "The bill is already paid"
    assert caught.value.__cause__ is None
    with pytest.raises(RuntimeError, match="database hiccup"):
        await typed_handler(PaymentCancelled, breaks)(an_event(), CANCELLED)  # type: ignore[arg-type]


def test_applicant_contract_is_what_events_carry() -> None:
    assert Applicant(name="N", phone="+962791234567").lang == "ar"
