"""Consumers on the real broker: poison messages, redelivery, retries, and one trace end to end."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.conftest import eventually
from tests.integration.helpers import (
    bearer,
    dead_letters,
    metric,
    note_event,
    publish_raw,
    tally,
)
from tests.testsvc.app import POISON_TEXT

pytestmark = pytest.mark.integration


@pytest.fixture
async def testsvc(start_service: Any, amqp: Any) -> Any:
    instance = uuid.uuid4().hex[:8]
    service = start_service("tests.testsvc", TESTSVC_INSTANCE=instance, DELIVERY_LIMIT="3")
    await service.wait_ready()
    service.instance = instance
    service.tally_queue = service.queue("testsvc.tally")
    yield service


async def test_malformed_message_goes_to_the_dlq_with_its_reason_and_the_next_is_consumed(
    testsvc: Any, amqp: Any
) -> None:
    await publish_raw(amqp, b"{not json")
    bad_data = note_event(testsvc.instance).model_dump(mode="json")
    bad_data["data"].pop("note_id")

    await publish_raw(amqp, json.dumps(bad_data).encode())
    await publish_raw(amqp, note_event(testsvc.instance).to_json())

    await eventually(lambda: _tally_is(testsvc.url, 1), message="the good message applied")
    dead: list[Any] = []

    async def two_dead() -> bool:
        dead.extend(await dead_letters(amqp, testsvc.tally_queue))
        return len(dead) >= 2

    await eventually(two_dead, message="both bad messages dead-lettered")
    reasons = [str(message.headers["x-dead-letter-reason"]) for message in dead]
    assert all(reason.startswith("malformed: ValidationError") for reason in reasons)
    assert any("Invalid JSON" in reason for reason in reasons)
    assert any("note_id: Field required" in reason for reason in reasons)
    assert all(message.headers["x-original-routing-key"] for message in dead)


async def test_event_of_an_unknown_type_is_dead_lettered(testsvc: Any, amqp: Any) -> None:
    event = note_event(testsvc.instance).model_dump(mode="json")
    event["type"] = "jo.gov.amman.testsvc.note.vanished.v1"

    await publish_raw(amqp, json.dumps(event).encode())

    dead: list[Any] = []

    async def one_dead() -> bool:
        dead.extend(await dead_letters(amqp, testsvc.tally_queue))
        return len(dead) >= 1

    await eventually(one_dead, message="unknown type dead-lettered")
    assert "UnknownEventType" in str(dead[0].headers["x-dead-letter-reason"])


async def test_event_delivered_twice_is_applied_once(testsvc: Any, amqp: Any) -> None:
    event = note_event(testsvc.instance)
    await publish_raw(amqp, event.to_json(), message_id=event.id)
    await publish_raw(amqp, event.to_json(), message_id=event.id)

    async def seen_twice() -> bool:
        duplicates = await metric(testsvc.url, "events_duplicate_total", queue=testsvc.tally_queue)
        return duplicates >= 1

    await eventually(seen_twice, message="second delivery seen")
    assert await tally(testsvc.url) == 1


async def test_failing_handler_is_retried_to_the_delivery_limit_then_dead_lettered(
    testsvc: Any, amqp: Any
) -> None:
    await publish_raw(amqp, note_event(testsvc.instance, text=POISON_TEXT).to_json())
    await publish_raw(amqp, note_event(testsvc.instance).to_json())

    dead: list[Any] = []

    async def one_dead() -> bool:
        dead.extend(await dead_letters(amqp, testsvc.tally_queue))
        return len(dead) >= 1

    await eventually(one_dead, timeout=40, message="poison dead-lettered")
    reason = str(dead[0].headers["x-dead-letter-reason"])
    assert reason.startswith("handler failed 3 times: RuntimeError: this note always fails")
    await eventually(lambda: _tally_is(testsvc.url, 1), message="the next message applied")


async def test_one_trace_runs_from_the_http_request_to_the_consumer(
    testsvc: Any, token_for: Any
) -> None:
    token = token_for("alice")
    async with httpx.AsyncClient(base_url=testsvc.url, headers=bearer(token)) as client:
        created = await client.post("/v1/notes", json={"text": "t", "phone": "+962791234567"})
        assert created.status_code == 201
        note_id = created.json()["id"]

        async def traced() -> dict[str, Any] | None:
            note = (await client.get(f"/v1/notes/{note_id}")).json()
            return note if note.get("consumer_trace_id") else None

        note = await eventually(traced, message="consumer recorded its trace id")
    assert note["consumer_trace_id"] == note["request_trace_id"]
    assert note["request_trace_id"] != "0" * 32


async def _tally_is(url: str, expected: int) -> bool:
    return await tally(url) == expected
