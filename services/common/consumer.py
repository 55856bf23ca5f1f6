"""Consuming events: validation, idempotency, retries and dead letters, the same way everywhere.

For each message on a service's queue:
1. The CloudEvent envelope and its data are validated against the contract registry. A malformed
   message, or one of a type this consumer has no handler for, goes to `<queue>.dlq` at once with
   the reason in the `x-dead-letter-reason` header; the consumer goes on with the next one.
2. A message whose event id this consumer already applied is acknowledged and nothing else happens
   (the inbox: one record per consumer and event id). A handler declared `idempotent` skips the
   inbox's check and record: its use case decides from the aggregate's own state, so applying
   an event again changes nothing (payments' bill for a payment reference, a request keeping its
   bill's number, the notifier's message for an event and template), and the two database
   commands would buy nothing.
3. The handler runs. Handlers make their effect idempotent themselves as well (a unique key per
   effect, or a condition on the event id in the same update), because a crash between the effect
   and the inbox record delivers the event again.
4. A handler that raises is retried (the message is requeued) until `delivery_limit` deliveries,
   then dead-lettered with the error. `Reject` dead-letters at once. Deliveries are counted in the
   inbox too, because classic queues have no `x-delivery-count`: a message that crashes the process
   every time is dead-lettered without being run again.
5. The database or the broker being away is not the message's fault: the consumer keeps the
   message and retries with backoff, counting nothing.
Ack happens only after the effect is durably stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import aio_pika
import aiormq
from aio_pika.abc import AbstractIncomingMessage
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker
from faststream.rabbit.annotations import RabbitMessage
from prometheus_client import Counter
from pydantic import BaseModel, ValidationError
from pymongo import ReturnDocument
from pymongo.errors import ConnectionFailure

from contracts import REGISTRY, CloudEvent, EventRegistry, UnknownEventType, parse_event
from services.common.broker import BrokerPublisher, QueueBinding, queue_for
from services.common.change import ChangedMeanwhile
from services.common.clock import Clock
from services.common.errors import DomainError
from services.common.mongo import Database, IndexSpec
from services.common.settings import ServiceSettings

logger = logging.getLogger(__name__)

Handler = Callable[[CloudEvent, Any], Awaitable[None]]

INBOX = "inbox"
INBOX_INDEXES = [IndexSpec(INBOX, [("consumer", 1), ("done_at", 1)])]

# Failures that say nothing about the message: keep it and try again.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    aio_pika.exceptions.AMQPConnectionError,
    aio_pika.exceptions.ChannelInvalidStateError,
    aiormq.exceptions.ConnectionClosed,
    TimeoutError,
)

CONSUMED = Counter("events_consumed_total", "Events applied by a consumer", ["queue", "type"])
DUPLICATES = Counter("events_duplicate_total", "Redelivered events skipped", ["queue"])
DEAD_LETTERED = Counter("events_dead_lettered_total", "Messages sent to a DLQ", ["queue", "cause"])
HANDLER_ERRORS = Counter("events_handler_errors_total", "Handler failures", ["queue", "type"])
REDELIVERED = Counter("events_redelivered_total", "Messages delivered again", ["queue"])


class Reject(Exception):
    """Raised by a handler for a message that can never succeed: dead-letter it now."""


M = TypeVar("M")


@dataclass(frozen=True)
class TypedHandler(Generic[M]):
    """A handler that hands the event's data to a use case taking only the data: the one way
    every service consumes.

    The platform's policy for an event the rules refuse: **it is dead-lettered, with the
    refusal's `detail` as the reason** (`x-dead-letter-reason`), because a refusal never succeeds
    on a retry and an operator must see it (`/v1/ops/dead-letters`), never a silent
    acknowledgement. So a use case raises a `DomainError` only for an event that should not have
    come; what it may meet in normal running (a redelivery, a bill of another service, a bill
    paid for a request withdrawn meanwhile) it answers itself, as a no-op or with its own move.

    Data that is not a `model` is rejected (`expected <model>, got <type>`). `ChangedMeanwhile`
    (every attempt of a change lost its race) is no refusal: it is left to the retries, as is any
    other error. What the use case returns is dropped."""

    model: type[M]
    use_case: Callable[..., Awaitable[object]]
    # The use case takes the envelope too: `(event, data)` (see `enveloped_handler`).
    with_envelope: bool = False
    # The use case is idempotent by the aggregate's own state: no inbox check or record (see the
    # module's docstring, step 2). Each such use case has a test that a redelivery changes nothing.
    idempotent: bool = False

    async def __call__(self, event: CloudEvent, data: Any) -> None:
        if not isinstance(data, self.model):
            raise Reject(f"expected {self.model.__name__}, got {type(data).__name__}")
        try:
            await (self.use_case(event, data) if self.with_envelope else self.use_case(data))
        except ChangedMeanwhile:
            raise
        except DomainError as error:
            raise Reject(error.detail) from None


def typed_handler(
    model: type[M], use_case: Callable[[M], Awaitable[object]], *, idempotent: bool = False
) -> TypedHandler[M]:
    """The handler of events whose data is a `model`, for `use_case` (see `TypedHandler`);
    `idempotent` when the use case's own state makes a second application a no-op."""
    return TypedHandler(model, use_case, idempotent=idempotent)


def enveloped_handler(
    model: type[M],
    use_case: Callable[[CloudEvent, M], Awaitable[object]],
    *,
    idempotent: bool = False,
) -> TypedHandler[M]:
    """A `typed_handler` whose use case also reads the envelope (its type, subject or time),
    e.g. the notifier's, which serves many event types with one use case; `idempotent` as for
    `typed_handler`."""
    return TypedHandler(model, use_case, with_envelope=True, idempotent=idempotent)


@dataclass(frozen=True)
class EventConsumer:
    """A queue of one service and the handler for each event type bound to it."""

    binding: QueueBinding
    handlers: Mapping[str, Handler]
    registry: EventRegistry = field(default=REGISTRY)

    @property
    def queue(self) -> str:
        return self.binding.name


class Inbox:
    """Per consumer and event id: deliveries seen, the last error, and when it was applied."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._collection = db[INBOX]
        self._clock = clock

    @staticmethod
    def _key(consumer: str, event_id: str) -> str:
        return f"{consumer}:{event_id}"

    async def is_done(self, consumer: str, event_id: str) -> bool:
        # By _id alone: FerretDB uses its primary key only for a plain `_id` filter.
        found = await self._collection.find_one({"_id": self._key(consumer, event_id)})
        return found is not None and found.get("done_at") is not None

    async def mark_done(self, consumer: str, event_id: str) -> None:
        await self._collection.update_one(
            {"_id": self._key(consumer, event_id)},
            {"$set": {"consumer": consumer, "done_at": self._clock.now()}},
            upsert=True,
        )

    async def count_redelivery(self, consumer: str, event_id: str) -> int:
        document = await self._collection.find_one_and_update(
            {"_id": self._key(consumer, event_id)},
            {"$inc": {"redeliveries": 1}, "$set": {"consumer": consumer}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(document["redeliveries"]) if document else 1

    async def note_failure(self, consumer: str, event_id: str, error: str) -> None:
        await self._collection.update_one(
            {"_id": self._key(consumer, event_id)},
            {"$set": {"consumer": consumer, "last_error": error[:1000]}},
            upsert=True,
        )

    async def last_error(self, consumer: str, event_id: str) -> str | None:
        found = await self._collection.find_one({"_id": self._key(consumer, event_id)})
        return None if found is None else found.get("last_error")


def describe(error: BaseException) -> str:
    """A reason for a dead letter: the error kind and, for validation, the fields that failed."""
    if isinstance(error, ValidationError):
        fields = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}"
            for item in error.errors(include_input=False)
        )
        return f"{type(error).__name__}: {fields}"
    return f"{type(error).__name__}: {error}"


def _channel_closed(message: RabbitMessage) -> bool:
    channel = getattr(message.raw_message, "channel", None)
    return bool(getattr(channel, "is_closed", False))


class KeyedLocks:
    """One FIFO lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class ConsumerRunner:
    """Subscribes an `EventConsumer` and applies the rules in this module's docstring."""

    def __init__(
        self,
        consumer: EventConsumer,
        *,
        broker: RabbitBroker,
        publisher: BrokerPublisher,
        inbox: Inbox,
        clock: Clock,
        settings: ServiceSettings,
    ) -> None:
        self._consumer = consumer
        self._publisher = publisher
        self._inbox = inbox
        self._clock = clock
        self._delivery_limit = settings.delivery_limit
        self._stopping = False
        self._locks = KeyedLocks()
        self._context = broker.context
        broker.subscriber(
            queue_for(settings, consumer.queue),
            ack_policy=AckPolicy.MANUAL,
            title=consumer.queue,
        )(self._on_delivery)

    def stop(self) -> None:
        self._stopping = True

    async def _on_delivery(self, body: Any) -> None:
        """FastStream's entry. The message is taken from FastStream's context here rather than
        asked for as a `RabbitMessage` parameter: FastStream resolves such a parameter (a
        `Context`, whose `use` is synchronous) in a worker thread, one thread hop per message.
        `body` is FastStream's decoding of it, unused: `_process` parses the raw bytes."""
        message: RabbitMessage = self._context.get_local("message")
        await self._on_message(message)

    async def _on_message(self, message: RabbitMessage) -> None:
        delay = 0.5
        while True:
            try:
                await self._process(message)
                return
            except TRANSIENT_ERRORS:
                if self._stopping or _channel_closed(message):
                    # Left unacknowledged: its delivery tag died with the channel, and the broker
                    # delivers the message again (to us after reconnecting, or to a replica).
                    return
                logger.warning(
                    "consumer %s: infrastructure unavailable, retrying in %.1fs",
                    self._consumer.queue,
                    delay,
                    exc_info=True,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _process(self, message: RabbitMessage) -> None:
        raw = message.raw_message
        try:
            event, data = parse_event(raw.body, self._consumer.registry)
        except (ValueError, ValidationError, UnknownEventType) as error:
            await self._dead_letter(raw, f"malformed: {describe(error)}", cause="malformed")
            await message.ack()
            return
        # The broker hands a consumer up to `prefetch_count` messages at once and they run
        # concurrently. Messages about one subject (one request) are applied one at a time, in the
        # order they arrived: the lock is taken before this task first yields, and is FIFO.
        async with self._locks.hold(event.subject or event.id):
            await self._apply(message, event, data)

    async def _apply(self, message: RabbitMessage, event: CloudEvent, data: BaseModel) -> None:
        raw = message.raw_message
        queue = self._consumer.queue
        handler = self._consumer.handlers.get(event.routing_key)
        if handler is None:
            await self._dead_letter(
                raw, f"unexpected event type for {queue}: {event.type}", cause="unexpected"
            )
            await message.ack()
            return
        inbox = not (isinstance(handler, TypedHandler) and handler.idempotent)
        if inbox and await self._inbox.is_done(queue, event.id):
            DUPLICATES.labels(queue).inc()
            await message.ack()
            return

        deliveries = await self._deliveries(raw, event.id)
        if deliveries > self._delivery_limit:
            last = await self._inbox.last_error(queue, event.id)
            reason = f"delivery limit {self._delivery_limit} exceeded; last error: {last}"
            await self._dead_letter(raw, reason, cause="delivery-limit")
            await message.ack()
            return

        try:
            await handler(event, data)
        except Reject as error:
            await self._dead_letter(raw, f"rejected: {error}", cause="rejected")
            await message.ack()
            return
        except TRANSIENT_ERRORS:
            raise
        except Exception as error:
            HANDLER_ERRORS.labels(queue, event.routing_key).inc()
            logger.exception("consumer %s: handler failed for event %s", queue, event.id)
            reason = describe(error)
            await self._inbox.note_failure(queue, event.id, reason)
            if deliveries >= self._delivery_limit:
                await self._dead_letter(
                    raw, f"handler failed {deliveries} times: {reason}", cause="handler"
                )
                await message.ack()
            else:
                await asyncio.sleep(min(0.2 * 2**deliveries, 5.0))
                await message.nack(requeue=True)
            return

        if inbox:
            await self._inbox.mark_done(queue, event.id)
        CONSUMED.labels(queue, event.routing_key).inc()
        await message.ack()

    async def _deliveries(self, raw: AbstractIncomingMessage, event_id: str) -> int:
        if not raw.redelivered:
            return 1
        REDELIVERED.labels(self._consumer.queue).inc()
        counted = 1 + await self._inbox.count_redelivery(self._consumer.queue, event_id)
        # Quorum queues count for us too; trust whichever saw more.
        header = (raw.headers or {}).get("x-delivery-count")
        from_broker = 1 + int(header) if isinstance(header, int) else 0
        return max(counted, from_broker)

    async def _dead_letter(self, raw: AbstractIncomingMessage, reason: str, *, cause: str) -> None:
        queue = self._consumer.queue
        logger.error("consumer %s: dead-lettering message %s: %s", queue, raw.message_id, reason)
        await self._publisher.dead_letter(
            queue,
            raw.body,
            reason=reason,
            headers=dict(raw.headers or {}),
            routing_key=raw.routing_key or "",
            exchange=raw.exchange or "",
            message_id=raw.message_id,
            content_type=raw.content_type,
            failed_at=self._clock.now(),
        )
        DEAD_LETTERED.labels(queue, cause).inc()
