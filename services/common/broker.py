"""RabbitMQ topology and publishing, shared by every service.

- topic exchange `amman.events` for domain events (routing key = event type);
- direct exchange `amman.commands` for commands meant for one service (never secrets on events);
- direct exchange `amman.dlx` for dead letters: queue `<q>` dead-letters with routing key `<q>` into
  `<q>.dlq`, both natively (delivery limit, crash loops) and explicitly with the reason
  (see consumer.py);
- the stream `amman.events.history`, bound to `amman.events` with `#`: every event, kept by size
  and age (`EVENTS_HISTORY_MAX_BYTES`, `EVENTS_HISTORY_MAX_AGE`), for a late subscriber to replay
  (contracts/README.md, "Replaying history").

Queues are durable; their type is a setting (quorum in a production cluster; classic on Debian's
single-node RabbitMQ 3.10, whose quorum queues refuse consumers for minutes after a crash: measured
in deploy/README.md). Every message is persistent and every publish waits for the confirm.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
import aiormq
from aio_pika import RobustConnection
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from aiormq import spec
from faststream.rabbit import (
    Channel,
    ExchangeType,
    RabbitBroker,
    RabbitExchange,
    RabbitQueue,
)
from faststream.rabbit import (
    QueueType as RabbitQueueType,
)
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from yarl import URL

from contracts import CONTENT_TYPE
from services.common.outbox import OutboxEntry
from services.common.settings import QueueType, ServiceSettings

logger = logging.getLogger(__name__)

EVENTS = RabbitExchange("amman.events", type=ExchangeType.TOPIC, durable=True)
COMMANDS = RabbitExchange("amman.commands", type=ExchangeType.DIRECT, durable=True)
DEAD_LETTERS = RabbitExchange("amman.dlx", type=ExchangeType.DIRECT, durable=True)
EXCHANGES = (EVENTS, COMMANDS, DEAD_LETTERS)
EVENTS_HISTORY = "amman.events.history"
_PROPAGATOR = TraceContextTextMapPropagator()
_TRACER = trace.get_tracer(__name__)
PERSISTENT = 2

# Headers an explicitly dead-lettered message carries, beside its original headers.
REASON_HEADER = "x-dead-letter-reason"
ORIGINAL_ROUTING_KEY_HEADER = "x-original-routing-key"
ORIGINAL_EXCHANGE_HEADER = "x-original-exchange"
FAILED_AT_HEADER = "x-failed-at"


@dataclass(frozen=True)
class QueueBinding:
    """A service's queue: its name (`<service>.<purpose>`), the exchange and keys it is bound to."""

    name: str
    routing_keys: Sequence[str]
    exchange: RabbitExchange = EVENTS

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name}.dlq"


class FailoverConnection(RobustConnection):
    """A robust connection to one of several nodes of a cluster (`AMQP_URL` listing them,
    comma-separated): each connection attempt, the first one and every reconnection, tries the
    nodes in turn from the one after the node last tried, so a dead node costs one refused
    connection. Channels and consumers are restored on the node reached, as aio-pika does."""

    urls: tuple[URL, ...] = ()
    _next = 0

    # RobustConnection calls its private `__connect_transport` for every attempt: this is it.
    async def _RobustConnection__connect_transport(self) -> None:
        connect = getattr(super(), "_RobustConnection__connect_transport")  # noqa: B009 (mangled)
        failure: BaseException | None = None
        for _ in self.urls:
            # The query holds aio-pika's own parameters (reconnect interval, fail fast).
            self.url = self.urls[self._next % len(self.urls)].with_query(self.url.query)
            self._next += 1
            try:
                await connect()
                logger.info("connected to RabbitMQ at %s", self.url.with_user(None))
                return
            except CONNECTION_EXCEPTIONS as error:
                failure = error
        assert failure is not None
        raise failure


def failover_connection(urls: Sequence[str]) -> type[FailoverConnection]:
    return type("FailoverConnection", (FailoverConnection,), {"urls": tuple(map(URL, urls))})


def amqp_urls(settings: ServiceSettings) -> list[str]:
    """`AMQP_URL`: one URL, or a cluster's nodes, comma-separated."""
    return [url.strip() for url in settings.amqp_url.split(",") if url.strip()]


def make_broker(
    settings: ServiceSettings, *, middlewares: Sequence[Any] = (), logger_: Any = None
) -> RabbitBroker:
    urls = amqp_urls(settings)
    broker = RabbitBroker(
        urls[0],
        app_id=settings.service_name,
        # Bounded prefetch: FastStream's default hands every queued message over at once.
        default_channel=Channel(prefetch_count=settings.prefetch_count, on_return_raises=True),
        graceful_timeout=settings.graceful_timeout_seconds,
        fail_fast=True,
        reconnect_interval=1.0,
        middlewares=tuple(middlewares),
        logger=logger_ if logger_ is not None else logging.getLogger("faststream"),
        # "Received"/"Processed" per message is debug detail, not an operator's log line.
        log_level=logging.DEBUG,
    )
    if len(urls) > 1:
        # FastStream passes these to aio_pika.connect_robust, which takes the connection class.
        broker._connection_kwargs["connection_class"] = failover_connection(urls)
    return broker


def queue_for(settings: ServiceSettings, name: str) -> RabbitQueue:
    """The declaration of a consuming queue, identical wherever it is declared."""
    # Any: FastStream types these arguments as TypedDicts per queue type.
    arguments: Any = {
        "x-dead-letter-exchange": DEAD_LETTERS.name,
        "x-dead-letter-routing-key": name,
    }
    if settings.queue_type is QueueType.QUORUM:
        # The broker's own poison guard: after this many deliveries the message is dead-lettered
        # even if the consumer crashes before it can decide.
        arguments["x-delivery-limit"] = settings.delivery_limit
        return RabbitQueue(name, queue_type=RabbitQueueType.QUORUM, arguments=arguments)
    return RabbitQueue(name, queue_type=RabbitQueueType.CLASSIC, durable=True, arguments=arguments)


def dead_letter_queue_for(settings: ServiceSettings, name: str) -> RabbitQueue:
    if settings.queue_type is QueueType.QUORUM:
        return RabbitQueue(f"{name}.dlq", queue_type=RabbitQueueType.QUORUM)
    return RabbitQueue(f"{name}.dlq", queue_type=RabbitQueueType.CLASSIC, durable=True)


class EventsHistorySettings(BaseSettings):
    """The retention of the stream `amman.events.history` (documented in deploy/README.md).

    Its own settings class, read from the same environment as `ServiceSettings`: every service
    declares the stream, with the same arguments (RabbitMQ refuses a redeclaration with others).
    """

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    # x-max-length-bytes: the stream drops its oldest segments beyond this size.
    events_history_max_bytes: int = Field(default=10_000_000_000, ge=1)
    # x-max-age: and segments whose newest event is older than this (units Y, M, D, h, m, s).
    events_history_max_age: str = Field(default="2Y", pattern=r"^[1-9][0-9]*[YMDhms]$")


def events_history_arguments(history: EventsHistorySettings | None = None) -> dict[str, Any]:
    """The arguments the stream `amman.events.history` is declared with."""
    history = history if history is not None else EventsHistorySettings()
    return {
        "x-queue-type": "stream",
        "x-max-length-bytes": history.events_history_max_bytes,
        "x-max-age": history.events_history_max_age,
    }


async def declare_events_history(connection: aio_pika.abc.AbstractConnection) -> None:
    """Declare the stream `amman.events.history` if it is missing, and bind it to `amman.events`
    with `#`. An existing stream keeps the arguments it was created with: RabbitMQ refuses to
    redeclare it with others (PRECONDITION_FAILED), so a changed retention setting applies to a
    new broker, and a running one is changed by a policy (deploy/README.md, "Events' history")."""
    channel = await connection.channel(publisher_confirms=False)
    try:
        try:
            stream = await channel.declare_queue(EVENTS_HISTORY, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity:
            # The failed passive declaration closed the channel.
            channel = await connection.channel(publisher_confirms=False)
            stream = await channel.declare_queue(
                EVENTS_HISTORY, durable=True, arguments=events_history_arguments()
            )
            logger.info("declared the stream %s", EVENTS_HISTORY)
        await stream.bind(EVENTS.name, routing_key="#")
    finally:
        if not channel.is_closed:
            await channel.close()


async def declare_topology(
    broker: RabbitBroker, settings: ServiceSettings, bindings: Sequence[QueueBinding]
) -> None:
    """Declare the exchanges, the events' history stream, each queue with its dead-letter queue,
    and every binding."""
    declared = {exchange.name: await broker.declare_exchange(exchange) for exchange in EXCHANGES}
    connection: aio_pika.abc.AbstractRobustConnection | None = getattr(broker, "_connection", None)
    if connection is None:
        raise RuntimeError("declare_topology needs a connected broker")
    await declare_events_history(connection)
    for binding in bindings:
        dlq = await broker.declare_queue(dead_letter_queue_for(settings, binding.name))
        await dlq.bind(declared[DEAD_LETTERS.name], routing_key=binding.name)
        queue = await broker.declare_queue(queue_for(settings, binding.name))
        for key in binding.routing_keys:
            await queue.bind(declared[binding.exchange.name], routing_key=key)


class EventNotConfirmed(Exception):
    """The broker did not take an event (a nack): it stays in the outbox, to be published again."""


class BrokerPublisher:
    """Publishes stored events (for the outbox relay) and commands: persistent, confirmed."""

    def __init__(self, broker: RabbitBroker, settings: ServiceSettings) -> None:
        self._broker = broker
        self._timeout = settings.publish_timeout_seconds
        self._app_id = settings.service_name
        self._events_channel: aio_pika.abc.AbstractChannel | None = None
        self._opening = asyncio.Lock()

    async def publish(self, entry: OutboxEntry) -> None:
        """Publish an event from the outbox and return once the broker confirmed it.

        Straight on a channel of its own, with publisher confirms, rather than through
        FastStream's publisher (measured: about three times the CPU per publish). The
        frames are handed to the connection without waiting for the previous publish's frames to
        be written (`wait=False`; the confirm is awaited all the same), so that the relay's
        publishes of one document, started in order, are written in that order and together:
        nothing here yields before the channel's lock. The publish span (`amman.events
        publish`, in the trace of the request that stored the event) is the one FastStream
        would have made, and its `traceparent` travels in the headers to the consumer."""
        channel = await self._channel()
        parent = (
            _PROPAGATOR.extract({"traceparent": entry.traceparent}) if entry.traceparent else None
        )
        with _TRACER.start_as_current_span(
            f"{EVENTS.name} publish",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.destination.name": EVENTS.name,
                "messaging.rabbitmq.destination.routing_key": entry.routing_key,
                "messaging.message.id": entry.id,
            },
        ):
            headers: dict[str, Any] = {}
            _PROPAGATOR.inject(headers)
            properties = spec.Basic.Properties(
                content_type=CONTENT_TYPE,
                delivery_mode=PERSISTENT,
                message_id=entry.id,
                message_type=f"jo.gov.amman.{entry.routing_key}",
                timestamp=datetime.fromisoformat(entry.time),
                app_id=self._app_id,
                headers=headers or None,
            )
            # An event nobody has subscribed to yet is not an error: mandatory=False.
            confirmation = await channel.basic_publish(
                entry.body.encode(),
                exchange=EVENTS.name,
                routing_key=entry.routing_key,
                properties=properties,
                mandatory=False,
                timeout=self._timeout,
                wait=False,
            )
        if not isinstance(confirmation, spec.Basic.Ack):
            raise EventNotConfirmed(f"event {entry.id}: {confirmation!r}")

    async def _channel(self) -> aiormq.Channel:
        """The events' channel (a robust one: reopened with the connection), opened once."""
        channel = self._events_channel
        if channel is None or channel.is_closed:
            async with self._opening:
                channel = self._events_channel
                if channel is None or channel.is_closed:
                    connection: aio_pika.abc.AbstractRobustConnection | None = getattr(
                        self._broker, "_connection", None
                    )
                    if connection is None:
                        raise RuntimeError("the broker is not connected")
                    channel = await connection.channel(publisher_confirms=True)
                    self._events_channel = channel
        underlay = await channel.get_underlay_channel()
        if not isinstance(underlay, aiormq.Channel):  # the abstract type has no `wait`
            raise TypeError(f"unexpected channel {underlay!r}")
        return underlay

    async def send_command(
        self,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """A command for exactly one service: unroutable is an error (mandatory, returns raise)."""
        await self._broker.publish(
            body,
            exchange=COMMANDS,
            routing_key=routing_key,
            mandatory=True,
            persist=True,
            timeout=self._timeout,
            content_type=content_type,
            message_id=message_id,
            headers=dict(headers) if headers else None,
        )

    async def dead_letter(
        self,
        queue: str,
        body: bytes,
        *,
        reason: str,
        headers: Mapping[str, Any],
        routing_key: str,
        exchange: str,
        message_id: str | None,
        content_type: str | None,
        failed_at: datetime,
    ) -> None:
        dead_headers = dict(headers)
        dead_headers.update(
            {
                REASON_HEADER: reason[:1000],
                ORIGINAL_ROUTING_KEY_HEADER: routing_key,
                ORIGINAL_EXCHANGE_HEADER: exchange,
                FAILED_AT_HEADER: failed_at.isoformat(),
            }
        )
        await self._broker.publish(
            body,
            exchange=DEAD_LETTERS,
            routing_key=queue,
            mandatory=True,
            persist=True,
            timeout=self._timeout,
            content_type=content_type,
            message_id=message_id,
            headers=dead_headers,
        )


async def queue_consumer_counts(broker: RabbitBroker, names: Sequence[str]) -> dict[str, int]:
    """How many consumers each queue has, asked of the broker itself.

    `broker.ping()` checks only the connection; after a node restart a consumer can be gone while
    the connection looks healthy (FastStream #2758, aio-pika #334), so readiness asks per queue.
    A missing queue counts as 0.
    """
    connection: aio_pika.abc.AbstractRobustConnection | None = getattr(broker, "_connection", None)
    counts = dict.fromkeys(names, 0)
    if connection is None or connection.is_closed:
        return counts
    for name in names:
        # A passive declare of a missing queue closes the channel: one channel per question.
        channel = await connection.channel(publisher_confirms=False)
        try:
            queue = await channel.declare_queue(name, passive=True)
            result = queue.declaration_result
            counts[name] = int(result.consumer_count or 0)
        except aio_pika.exceptions.ChannelClosed:
            counts[name] = 0
        finally:
            if not channel.is_closed:
                await channel.close()
    return counts
