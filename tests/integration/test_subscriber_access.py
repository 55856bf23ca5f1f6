"""An outside system subscribes as contracts/README.md ("For a subscribing system") tells it:
its own RabbitMQ user with the permissions the operators grant, its own queues, bound to
`amman.events`; it receives and validates an event with the published JSON Schema, reads the
history stream `amman.events.history`, and the broker refuses it everything else: publishing on
`amman.events`, declaring it, binding to `amman.commands`, reading the platform's queues,
publishing to or deleting the stream."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aio_pika
import pytest
from aiormq.exceptions import ChannelAccessRefused
from jsonschema import Draft202012Validator, FormatChecker

from contracts import generate
from contracts.examples import examples_of
from services.common.broker import EVENTS_HISTORY, declare_events_history
from tests.integration.conftest import eventually
from tests.integration.node_subscriber import subscriber_user, system_of
from tests.integration.platform import Broker, isolated_broker

pytestmark = pytest.mark.integration


@pytest.fixture
async def vhost(infra: Any) -> AsyncIterator[tuple[Broker, str]]:
    name = f"subscriber-{uuid.uuid4().hex[:8]}"
    async with isolated_broker(infra.amqp_url, name, required=True) as broker:
        channel = await broker.connection.channel()
        # As the platform declares them; the platform's own queue, which outsiders must not read.
        await channel.declare_exchange("amman.commands", aio_pika.ExchangeType.DIRECT, durable=True)
        await channel.declare_queue("notifier.commands", durable=True)
        await channel.close()
        await declare_events_history(broker.connection)  # the stream, as every service declares it
        yield broker, name


@pytest.fixture
def subscriber(vhost: tuple[Broker, str], infra: Any) -> Iterator[tuple[str, str]]:
    """The operators' step: a user of the system's own, with the README's permissions."""
    _, name = vhost
    with subscriber_user(infra.amqp_url, name) as url:
        yield system_of(url), url


async def test_a_subscriber_binds_receives_and_validates_and_may_do_nothing_else(
    vhost: tuple[Broker, str], subscriber: tuple[str, str]
) -> None:
    broker, _ = vhost
    system, url = subscriber
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        # Its own dead-letter exchange and queue, its own queue bound to amman.events.
        dlx = await channel.declare_exchange(
            f"{system}.dlx", aio_pika.ExchangeType.FANOUT, durable=True
        )
        dead = await channel.declare_queue(f"{system}.dead", durable=True)
        await dead.bind(dlx)
        queue = await channel.declare_queue(
            f"{system}.bills", durable=True, arguments={"x-dead-letter-exchange": f"{system}.dlx"}
        )
        events = await channel.get_exchange("amman.events", ensure=True)  # passive: it exists
        await queue.bind(events, routing_key="payments.bill.*.v1")

        # The platform publishes a bill; the subscriber receives it and validates its data.
        [(_, event)] = examples_of("payments.bill.issued.v1")[:1]
        platform = await broker.connection.channel()
        platform_events = await platform.get_exchange("amman.events")
        await platform_events.publish(
            aio_pika.Message(event.to_json(), message_id=event.id, type=event.type),
            routing_key=event.routing_key,
        )
        await platform.close()
        received: list[bytes] = []

        async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            received.append(message.body)
            await message.ack()

        await queue.consume(keep)

        async def arrived() -> list[bytes]:
            return received

        [body] = await eventually(arrived, message="the bill on the subscriber's queue")
        document = json.loads(body)
        key = document["type"].removeprefix("jo.gov.amman.")
        schema = json.loads((generate.PACKAGE_DIR / "schemas" / f"{key}.json").read_text())
        assert schema["$id"] == document["dataschema"]
        validator = Draft202012Validator(schema, format_checker=FormatChecker())
        assert list(validator.iter_errors(document["data"])) == []

        # The history stream has it too: read from its first offset (prefetch, manual ack).
        reader = await connection.channel()
        await reader.set_qos(prefetch_count=10)
        stream = await reader.get_queue(EVENTS_HISTORY, ensure=False)
        replayed: list[bytes] = []

        async def replay(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            replayed.append(message.body)
            await message.ack()

        await stream.consume(replay, arguments={"x-stream-offset": "first"})

        async def from_history() -> list[bytes]:
            return replayed

        assert await eventually(from_history, message="the bill from the stream") == [body]
        await reader.close()

        # Everything else is refused by the broker, each on a channel of its own.
        async def refused(action: Any) -> None:
            attempt = await connection.channel()
            with pytest.raises(ChannelAccessRefused):
                await action(attempt)

        async def publish_event(ch: aio_pika.abc.AbstractChannel) -> None:
            exchange = await ch.get_exchange("amman.events", ensure=False)
            await exchange.publish(aio_pika.Message(event.to_json()), routing_key=event.routing_key)

        async def declare_events(ch: aio_pika.abc.AbstractChannel) -> None:
            await ch.declare_exchange("amman.events", aio_pika.ExchangeType.TOPIC, durable=True)

        async def bind_commands(ch: aio_pika.abc.AbstractChannel) -> None:
            own = await ch.declare_queue(f"{system}.commands", durable=True)
            await own.bind("amman.commands", routing_key="notifier.sms.send")

        async def read_platform_queue(ch: aio_pika.abc.AbstractChannel) -> None:
            await (await ch.get_queue("notifier.commands", ensure=False)).get(fail=False)

        async def foreign_queue(ch: aio_pika.abc.AbstractChannel) -> None:
            await ch.declare_queue("payments.bills", durable=True)

        async def delete_history(ch: aio_pika.abc.AbstractChannel) -> None:
            await ch.queue_delete(EVENTS_HISTORY)

        async def write_history(ch: aio_pika.abc.AbstractChannel) -> None:
            # Straight into the stream, through the default exchange.
            await ch.default_exchange.publish(
                aio_pika.Message(event.to_json()), routing_key=EVENTS_HISTORY
            )

        for action in (
            publish_event,
            declare_events,
            bind_commands,
            read_platform_queue,
            foreign_queue,
            delete_history,
            write_history,
        ):
            await refused(action)
    finally:
        await connection.close()
