"""The Node.js reference subscriber (contracts/examples/node-subscriber/, written from the published
AsyncAPI document and JSON Schemas only) on a real RabbitMQ, with its own user and the permissions
of contracts/README.md:

- the platform publishes one example event of every registry type: the subscriber receives and
  validates every one, and the report check passes (every type seen, none failing, none unknown);
- an invalid event and an event of an unpublished type make the report check fail;
- a late subscriber replays from `amman.events.history` (`--replay-from <time>`) and switches to
  its own queue: events published before it existed are replayed, and events published during
  the switch are neither lost nor doubled (counted by id)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from contracts import REGISTRY, CloudEvent
from contracts.examples import examples_of
from services.common.broker import declare_topology, make_broker
from services.common.settings import ServiceSettings
from tests.integration import node_subscriber
from tests.integration.platform import Broker, isolated_broker

pytestmark = pytest.mark.integration


@pytest.fixture
async def platform_vhost(infra: Any) -> AsyncIterator[tuple[Broker, str]]:
    """A virtual host of its own with the platform's topology, declared as the services declare
    it (`declare_topology`: the exchanges and the stream `amman.events.history`)."""
    name = f"node-subscriber-{uuid.uuid4().hex[:8]}"
    async with isolated_broker(infra.amqp_url, name, required=True) as broker:
        settings = ServiceSettings(amqp_url=broker.url, queue_type="classic")
        platform = make_broker(settings)
        await platform.connect()
        try:
            await declare_topology(platform, settings, [])
        finally:
            await platform.stop()
        yield broker, name


async def publish(broker: Broker, events: list[CloudEvent], *, body: bytes | None = None) -> None:
    """Publish as the platform's outbox relay does (the AMQP properties of contracts/README.md)."""
    channel = await broker.connection.channel(publisher_confirms=True)
    try:
        exchange = await channel.get_exchange("amman.events")
        for event in events:
            await exchange.publish(
                aio_pika.Message(
                    body if body is not None else event.to_json(),
                    message_id=event.id,
                    content_type="application/cloudevents+json",
                    type=event.type,
                    app_id=event.source.rsplit("/", 1)[-1],
                    timestamp=event.time,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=event.routing_key,
            )
    finally:
        await channel.close()


def every_example() -> list[CloudEvent]:
    return [event for spec in REGISTRY for _, event in examples_of(spec.routing_key)]


async def test_every_registry_type_is_received_and_valid(
    platform_vhost: tuple[Broker, str], infra: Any, tmp_path: Path
) -> None:
    broker, vhost = platform_vhost
    events = every_example()
    with node_subscriber.subscriber_user(infra.amqp_url, vhost) as url:
        subscriber = await asyncio.to_thread(node_subscriber.start, url, tmp_path / "report.json")
        try:
            await publish(broker, events)
            await asyncio.to_thread(
                subscriber.wait_until, lambda report: report["received"] >= len(events)
            )
        finally:
            report = await asyncio.to_thread(subscriber.stop)
    assert report["received"] == len(events)
    assert sorted(event["id"] for event in report["events"]) == sorted(e.id for e in events)
    problems = node_subscriber.check_report(
        report, schemas=node_subscriber.published_schemas(), registry=REGISTRY.keys()
    )
    assert problems == []


async def test_an_invalid_event_and_an_unpublished_type_fail_the_check(
    platform_vhost: tuple[Broker, str], infra: Any, tmp_path: Path
) -> None:
    """The check CI makes fails on what a real subscriber would meet: a bill whose amount is not
    an integer, and a type the contracts do not publish (both dead-lettered by the subscriber)."""
    broker, vhost = platform_vhost
    [(_, bill)] = examples_of("payments.bill.issued.v1")[:1]
    broken = json.loads(bill.to_json())
    broken["id"] = uuid.uuid4().hex
    broken["data"]["amount_fils"] = "25.000"
    unknown = json.loads(bill.to_json())
    unknown["id"] = uuid.uuid4().hex
    unknown["type"] = "jo.gov.amman.payments.bill.forgiven.v1"
    unknown["dataschema"] = "https://schemas.amman.jo/events/payments.bill.forgiven.v1.json"
    forgiven = bill.model_copy(update={"id": unknown["id"], "type": unknown["type"]})
    with node_subscriber.subscriber_user(infra.amqp_url, vhost) as url:
        subscriber = await asyncio.to_thread(node_subscriber.start, url, tmp_path / "report.json")
        try:
            await publish(broker, [bill])
            await publish(
                broker,
                [bill.model_copy(update={"id": broken["id"]})],
                body=json.dumps(broken).encode(),
            )
            await publish(broker, [forgiven], body=json.dumps(unknown).encode())
            await asyncio.to_thread(subscriber.wait_until, lambda report: report["received"] >= 3)
        finally:
            report = await asyncio.to_thread(subscriber.stop)
        # The subscriber dead-lettered both to its own queue.
        connection = await aio_pika.connect(url)
        try:
            channel = await connection.channel()
            dead = await channel.declare_queue(
                f"{node_subscriber.system_of(url)}.dead", passive=True
            )
            assert dead.declaration_result.message_count == 2
        finally:
            await connection.close()

    problems = node_subscriber.check_report(report, schemas=node_subscriber.published_schemas())
    assert len(problems) == 3, problems
    assert (
        f"event {broken['id']} (jo.gov.amman.payments.bill.issued.v1) failed validation"
        in (problems[0])
    )
    assert "/amount_fils must be integer" in problems[0]
    assert f"event {unknown['id']} (jo.gov.amman.payments.bill.forgiven.v1) failed" in problems[1]
    assert (
        problems[2] == "jo.gov.amman.payments.bill.forgiven.v1: received, but no published schema"
    )
    # And the registry check: one type seen of all the registry's.
    missing = node_subscriber.check_report(
        report, schemas=node_subscriber.published_schemas(), registry=REGISTRY.keys()
    )[3:]
    assert len(missing) == len(REGISTRY) - 1
    assert "payments.bill.paid.v1: in the registry, but never seen by the subscriber" in missing


def numbered(count: int, start: int) -> list[CloudEvent]:
    """`count` distinct bills (ids of their own) to count by id."""
    [(_, bill)] = examples_of("payments.bill.issued.v1")[:1]
    return [
        bill.model_copy(update={"id": f"{start + n:08d}{uuid.uuid4().hex[:24]}"})
        for n in range(count)
    ]


async def test_a_late_subscriber_replays_the_history_then_switches_without_gap_or_double(
    platform_vhost: tuple[Broker, str], infra: Any, tmp_path: Path
) -> None:
    broker, vhost = platform_vhost
    since = datetime.now(UTC) - timedelta(seconds=5)
    before = numbered(40, 0)
    await publish(broker, before)  # the subscriber does not exist yet: only the stream has them

    during: list[CloudEvent] = []
    stop_publishing = asyncio.Event()

    async def keep_publishing() -> None:
        # Through the subscriber's start, the replay and the switch, one event every 20 ms; every
        # fifth published twice, as an outbox relay may (at least once: the same id again).
        n = 1000
        while not stop_publishing.is_set():
            [event] = numbered(1, n)
            await publish(broker, [event, event] if n % 5 == 0 else [event])
            during.append(event)
            n += 1
            await asyncio.sleep(0.02)

    publisher = asyncio.create_task(keep_publishing())
    with node_subscriber.subscriber_user(infra.amqp_url, vhost) as url:
        subscriber = await asyncio.to_thread(
            node_subscriber.start,
            url,
            tmp_path / "report.json",
            "--replay-from",
            since.isoformat(),
        )
        try:
            await asyncio.to_thread(subscriber.wait_for, "SWITCHED")
            await asyncio.sleep(0.5)  # still publishing, now to the queue alone
            stop_publishing.set()
            await publisher
            after = numbered(10, 5000)
            await publish(broker, after)
            published = before + during + after
            await asyncio.to_thread(
                subscriber.wait_until,
                lambda report: len(report["events"]) >= len(published),
            )
        finally:
            stop_publishing.set()
            await publisher
            report = await asyncio.to_thread(subscriber.stop)

    handled = Counter(event["id"] for event in report["events"])
    assert set(handled) == {event.id for event in published}, "an event was lost"
    assert max(handled.values()) == 1, "an event was handled twice"
    via = {event["id"]: event["via"] for event in report["events"]}
    assert all(via[event.id] == "stream" for event in before), "history not replayed"
    assert all(via[event.id] == "queue" for event in after)
    assert report["switched_at"] in {event.id for event in during}
    assert report["failures"] == []
    # Each event published twice came twice (from the stream, the queue, or one of each) and was
    # handled once: the second delivery is dropped on its id. One pair may straddle the queue's
    # binding (the first copy only in the stream, the second the queue's first message): the
    # replay stops at that id's first place in the stream, so that pair is read once, from the
    # queue, and is no duplicate.
    twice = sum(1 for event in during if int(event.id[:8]) % 5 == 0)
    assert twice > 1
    assert report["duplicates"] >= twice - 1
    print(
        f"replayed {report['replayed']}, published during the switch {len(during)}, "
        f"dropped as duplicates {report['duplicates']}"
    )


async def test_on_a_quiet_platform_a_replay_from_an_offset_reads_the_stream_to_its_end(
    platform_vhost: tuple[Broker, str], infra: Any, tmp_path: Path
) -> None:
    """`--replay-offset 0`: nothing is published while it catches up, so its queue stays empty;
    once the stream has been quiet it switches, and what comes next arrives by its queue."""
    broker, vhost = platform_vhost
    before = numbered(15, 0)
    await publish(broker, before)
    with node_subscriber.subscriber_user(infra.amqp_url, vhost) as url:
        subscriber = await asyncio.to_thread(
            node_subscriber.start,
            url,
            tmp_path / "report.json",
            "--replay-offset",
            "0",
            "--replay-idle-ms",
            "1000",
        )
        try:
            await asyncio.to_thread(subscriber.wait_for, "SWITCHED")
            after = numbered(5, 100)
            await publish(broker, after)
            await asyncio.to_thread(
                subscriber.wait_until, lambda report: len(report["events"]) >= 20
            )
        finally:
            report = await asyncio.to_thread(subscriber.stop)
    assert [(e["id"], e["via"]) for e in report["events"]] == [
        *((event.id, "stream") for event in before),
        *((event.id, "queue") for event in after),
    ]
    assert [e["offset"] for e in report["events"][:15]] == list(range(15))
    assert report["switched_at"] is None  # switched because the stream was read to its end
