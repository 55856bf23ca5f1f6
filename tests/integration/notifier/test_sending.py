"""From event to SMS through the HTTP gateway: templates, exactly once, retries, restarts."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from contracts import REGISTRY
from services.notifier.catalogue import event_context, load
from services.notifier.domain import count_segments
from tests.integration.conftest import eventually
from tests.integration.helpers import metric
from tests.integration.notifier.conftest import (
    PROVIDER_TOKEN,
    FakeProvider,
    Reader,
    bill_issued,
    publish,
    random_phone,
    refund_decided,
)

pytestmark = pytest.mark.integration

CATALOGUE = load()


async def test_each_template_is_sent_in_the_applicants_language_with_the_events_data(
    notifier: Any, staff: Reader, provider: FakeProvider, amqp: Any
) -> None:
    sent: list[tuple[Any, str, str]] = []
    for lang in ("ar", "en"):
        for event in (
            bill_issued(random_phone(), lang=lang),
            refund_decided(random_phone(), approved=True, lang=lang),
            refund_decided(random_phone(), approved=False, lang=lang),
        ):
            await publish(amqp, event)
            sent.append((event, lang, event.data["applicant"]["phone"]))

    for event, lang, phone in sent:
        [message] = await staff.settled(event.subject, "sent")
        data = REGISTRY.parse_data(event.routing_key, event.data)
        expected = CATALOGUE.render(event.routing_key, lang, event_context(data))
        assert message["text"] == expected
        assert message["lang"] == lang
        assert message["template"] == event.routing_key
        assert message["phone"] == phone
        assert (message["encoding"], message["segments"]) == (
            count_segments(expected).encoding,
            count_segments(expected).count,
        )
        [request] = provider.to(phone)
        assert request.text == expected
        assert request.reference == message["id"]
        assert request.authorization == f"Bearer {PROVIDER_TOKEN}"
    bills = [message for message, lang, _ in sent if message.routing_key.endswith("issued.v1")]
    arabic = (await staff.messages(request_number=bills[0].subject))[0]["text"]
    english = (await staff.messages(request_number=bills[1].subject))[0]["text"]
    assert "2026000123457" in arabic and "12.500 دينار" in arabic and "01/12/2026 23:59" in arabic
    assert "2026000123457" in english and "12.500 JOD" in english


async def test_an_event_delivered_twice_sends_one_sms(
    notifier: Any,
    staff: Reader,
    provider: FakeProvider,
    amqp: Any,
    mongo: Any,
    database_name: str,
) -> None:
    """Without the inbox: the message's own key (the event's id and the template) refuses the
    second delivery's insert, and nothing is written for it anywhere else."""
    phone = random_phone()
    event = bill_issued(phone)

    await publish(amqp, event)
    await publish(amqp, event)

    await staff.settled(event.subject, "sent")
    queue = notifier.queue("notifier.events")
    await eventually(
        lambda: _at_least(metric(notifier.url, "events_consumed_total", queue=queue), 2),
        message="both deliveries were handled",
    )
    assert len(await staff.messages(request_number=event.subject)) == 1
    assert len(provider.to(phone)) == 1
    assert await mongo[database_name]["inbox"].count_documents({"consumer": queue}) == 0


async def test_provider_503_twice_then_200_is_sent_on_the_third_attempt_with_backoff(
    notifier: Any, staff: Reader, provider: FakeProvider, amqp: Any, failures: list[Any]
) -> None:
    _, phone, message = await _bill_answered(staff, provider, amqp, ["503", "503", "ok"], "sent")

    assert message["attempts"] == 3
    assert await staff.history(message["id"]) == [
        "queued",
        "sending",
        "temporary-failure",
        "sending",
        "temporary-failure",
        "sending",
        "sent",
    ]
    first, second, third = provider.to(phone)
    # Backoff base 0.2 s with equal jitter: at least 0.1 s, then at least 0.2 s.
    assert second.at - first.at >= 0.1
    assert third.at - second.at >= 0.2
    assert {first.reference, second.reference, third.reference} == {message["id"]}
    assert not [failure for failure in failures if failure.message_id == message["id"]]


async def test_provider_400_fails_at_once_without_retry_and_says_so_on_the_exchange(
    notifier: Any, staff: Reader, provider: FakeProvider, amqp: Any, failures: list[Any]
) -> None:
    event, phone, message = await _bill_answered(
        staff, provider, amqp, ["400"], "permanent-failure"
    )

    assert message["attempts"] == 1
    assert message["reason"] == "the provider answered HTTP 400 (invalid_destination)"
    failure = await eventually(lambda: _failure_of(failures, message["id"]), message="sms.failed")
    assert failure.status == "permanent-failure"
    assert failure.event_id == event.id
    assert failure.event_type == "jo.gov.amman.payments.bill.issued.v1"
    assert failure.request_number == event.subject
    assert failure.phone_masked == phone[:6] + "*****" + phone[-2:]
    await asyncio.sleep(0.5)  # a retry, were there one, would come within 0.2 s
    assert len(provider.to(phone)) == 1


async def test_provider_failing_every_attempt_ends_in_technical_failure(
    notifier: Any, staff: Reader, provider: FakeProvider, amqp: Any, failures: list[Any]
) -> None:
    _, phone, message = await _bill_answered(
        staff, provider, amqp, ["500", "502", "503"], "technical-failure"
    )

    assert message["attempts"] == 3
    assert message["reason"].startswith(
        "gave up after 3 attempt(s): the provider answered HTTP 503"
    )
    failure = await eventually(lambda: _failure_of(failures, message["id"]), message="sms.failed")
    assert failure.status == "technical-failure"
    assert len(provider.to(phone)) == 3


async def test_a_provider_that_does_not_answer_in_time_is_tried_again(
    notifier: Any, staff: Reader, provider: FakeProvider, amqp: Any
) -> None:
    _, phone, message = await _bill_answered(staff, provider, amqp, ["stall", "ok"], "sent")

    assert message["attempts"] == 2
    response = await staff.detail(message["id"])
    reasons = [step.get("reason") for step in response.json()["history"]]
    assert "the provider did not answer within 0.5 s" in reasons
    # The same reference both times: a provider that deduplicates on it sends one SMS.
    assert {request.reference for request in provider.to(phone)} == {message["id"]}


async def test_an_invalid_phone_fails_at_once_with_the_reason_and_nothing_is_sent(
    notifier: Any, staff: Reader, provider: FakeProvider, amqp: Any, failures: list[Any]
) -> None:
    event = bill_issued("06 512 3456")  # an Amman landline

    await publish(amqp, event)

    [message] = await staff.settled(event.subject, "permanent-failure")
    assert message["attempts"] == 0
    assert message["reason"] == (
        "invalid phone number: not a Jordanian mobile number (+9627[789]XXXXXXX)"
    )
    assert await staff.history(message["id"]) == ["queued", "permanent-failure"]
    failure = await eventually(lambda: _failure_of(failures, message["id"]), message="sms.failed")
    assert failure.status == "permanent-failure"
    assert failure.phone_masked == "*******56"
    assert not provider.to("06 512 3456") and not provider.to("+96265123456")


async def test_a_local_form_of_the_number_is_sent_to_in_e164(
    notifier: Any, staff: Reader, provider: FakeProvider, amqp: Any
) -> None:
    phone = random_phone()
    event = bill_issued("0" + phone[4:])

    await publish(amqp, event)

    [message] = await staff.settled(event.subject, "sent")
    assert message["phone"] == phone
    assert len(provider.to(phone)) == 1


async def test_notifier_restarted_while_messages_are_queued_sends_them_after_none_twice(
    start_notifier: Any, provider: FakeProvider, amqp: Any, mongo: Any, database_name: str
) -> None:
    # Four a second: most of the twelve are still queued when the first process stops.
    first = await start_notifier(NOTIFIER_RATE_LIMIT_PER_SECOND="4")
    phones = [random_phone() for _ in range(12)]
    for phone in phones:
        await publish(amqp, bill_issued(phone))
    messages = mongo[database_name]["messages"]
    await eventually(
        lambda: _at_least(messages.count_documents({"status": "sent"}), 2), message="2 sent"
    )

    # In a thread: the fake provider shares this event loop and must keep answering meanwhile.
    await asyncio.to_thread(first.terminate)
    still_queued = await messages.count_documents({"phone": {"$in": phones}, "status": "queued"})
    assert still_queued > 0, "the test needs messages left queued at the restart"

    await start_notifier(NOTIFIER_RATE_LIMIT_PER_SECOND="50")
    mine = {"phone": {"$in": phones}, "status": "sent"}
    await eventually(
        lambda: _at_least(messages.count_documents(mine), 12), message="all 12 sent after restart"
    )
    references = [request.reference for request in provider.requests if request.to in phones]
    assert len(references) == len(set(references)) == 12, [
        (request.at, request.to, request.reference) for request in provider.requests
    ]


async def _bill_answered(
    staff: Reader, provider: FakeProvider, amqp: Any, answers: list[str], until: str
) -> tuple[Any, str, dict[str, Any]]:
    """Publish a bill for a new phone whose provider answers `answers`; wait for `until`."""
    phone = random_phone()
    provider.will(phone, *answers)
    event = bill_issued(phone)
    await publish(amqp, event)
    [message] = await staff.settled(event.subject, until)
    return event, phone, message


async def _at_least(value: Any, count: float) -> bool:
    return bool(await value >= count)


async def _failure_of(failures: list[Any], message_id: str) -> Any:
    return next((failure for failure in failures if failure.message_id == message_id), None)


async def test_a_notifier_killed_mid_attempt_resumes_the_message_at_once_when_restarted(
    start_notifier: Any, provider: FakeProvider, amqp: Any, mongo: Any, database_name: str
) -> None:
    """Killed after it marked the SMS `sending`, before the gateway answered: the restarted
    notifier (same host and port, here the same NOTIFIER_SENDER_HOLDER) sends it again at once,
    not after its 60 s lease, under the same reference the provider deduplicates on."""
    provider.stall_seconds = 30  # the first attempt never gets its answer
    slow = {
        "NOTIFIER_SENDER_HOLDER": f"test-host-{uuid.uuid4().hex[:8]}:8002",
        "NOTIFIER_SEND_LEASE_SECONDS": "60",
        "NOTIFIER_HTTP_TIMEOUT_SECONDS": "30",
    }
    first = await start_notifier(**slow)
    phone = random_phone()
    provider.will(phone, "stall")
    await publish(amqp, bill_issued(phone))

    async def attempted() -> bool:
        return len(provider.to(phone)) >= 1

    await eventually(attempted, message="the first attempt reached the provider")
    messages = mongo[database_name]["messages"]
    held = await messages.find_one({"phone": phone})
    assert held is not None and held["status"] == "sending"
    await asyncio.to_thread(first.kill)
    restarted = time.monotonic()

    await start_notifier(**slow)

    async def sent() -> bool:
        document = await messages.find_one({"phone": phone})
        return document is not None and document["status"] == "sent"

    await eventually(sent, timeout=30, message="sent again after the restart")
    assert time.monotonic() - restarted < 30, "resumed at once, not after the 60 s lease"
    references = {request.reference for request in provider.to(phone)}
    assert len(provider.to(phone)) == 2 and len(references) == 1
