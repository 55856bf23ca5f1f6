"""Dead letters: list them per queue with their reason, show one, replay it or discard it.

Every consuming queue `<q>` dead-letters into `<q>.dlq` (see broker.py and consumer.py). This
module is the one place that reads those queues, for the staff API (`/v1/ops/dead-letters`, role
`ops`, mounted by every service on its own queues) and for the command line:

    python -m services.common.deadletters list exams.payments
    python -m services.common.deadletters show exams.payments <id>
    python -m services.common.deadletters replay exams.payments <id> --actor <who>
    python -m services.common.deadletters discard exams.payments <id> --actor <who>
    python -m services.common.deadletters audit

The command line reads `AMQP_URL`, `MONGO_URL` and `MONGO_DATABASE`/`SERVICE_NAME` as the service
does, so inside a pod (`kubectl exec deploy/exams -- python -m services.common.deadletters ...`) it
uses the service's own broker account and database.

How a queue is read. AMQP has no "peek": the messages are taken with `basic.get` without
acknowledging them, and the channel is closed at the end, which gives every one of them back to the
queue (RabbitMQ requeues them in their original position). Replaying one publishes it, with
publisher confirms and `mandatory`, to the exchange and routing key it was first published with, and
only after the broker's confirm acknowledges (removes) it from the dead-letter queue: a crash in
between replays it twice, which the consumers' inbox makes harmless. Discarding acknowledges it.

A dead letter's `id` is a fingerprint of its body and headers: the same message keeps it while it
waits, and two copies of one event dead-lettered at different times get different ids.

Every action (list, show, replay, discard) writes one document to the collection
`dead_letter_audit` of the service's database: who, when, which queue and message, and the reason it
was dead-lettered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import hashlib
import json
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from fastapi import APIRouter, Depends, Request
from pymongo import DESCENDING, AsyncMongoClient

from services.common.auth import Principal, require_roles
from services.common.broker import (
    FAILED_AT_HEADER,
    ORIGINAL_EXCHANGE_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER,
    REASON_HEADER,
)
from services.common.consumer import INBOX
from services.common.listing import Page, Paging
from services.common.mongo import Database, IndexSpec
from services.common.problems import Conflict, NotFound, Problem

AUDIT = "dead_letter_audit"
AUDIT_INDEXES = [IndexSpec(AUDIT, [("at", -1)])]
OPS_ROLE = "ops"
# A dead-letter queue is read at most this far when looking for one message.
SCAN_LIMIT = 10_000
# Headers the broker or the consumer added when dead-lettering: not carried into a replay.
_DEAD_LETTER_HEADERS = frozenset(
    {
        REASON_HEADER,
        ORIGINAL_ROUTING_KEY_HEADER,
        ORIGINAL_EXCHANGE_HEADER,
        FAILED_AT_HEADER,
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
        "x-delivery-count",
    }
)
REPLAYED_AT_HEADER = "x-replayed-at"
REPLAYS_HEADER = "x-replays"

Action = Literal["list", "show", "replay", "discard"]


class UnknownQueue(Exception):
    """The queue is not one of this service's consuming queues."""


class NoSuchDeadLetter(Exception):
    """No message with that id is waiting in the dead-letter queue."""


class BrokerUnavailable(Problem):
    """The dead-letter tools need the broker, which does not answer now."""

    status = 503
    kind = "broker-unavailable"
    title = "The message broker is unavailable"
    title_ar = "وسيط الرسائل غير متاح حاليًا"

    def response_headers(self) -> dict[str, str]:
        return {"Retry-After": "10"}


class Unroutable(Exception):
    """The broker routed the replay to no queue: nothing is bound to its routing key any more."""


def _plain(value: Any) -> Any:
    """A header value as JSON can hold it."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


@dataclass(frozen=True)
class DeadLetter:
    """One message waiting in `<queue>.dlq`."""

    id: str
    queue: str
    reason: str
    original_exchange: str
    original_routing_key: str
    failed_at: str | None
    message_id: str | None
    event_id: str | None
    event_type: str | None
    content_type: str | None
    headers: dict[str, Any]
    body: str

    @classmethod
    def of(cls, queue: str, message: AbstractIncomingMessage) -> DeadLetter:
        headers = {str(key): _plain(value) for key, value in (message.headers or {}).items()}
        death = _first_death(headers)
        reason = headers.get(REASON_HEADER) or (
            f"{death.get('reason', 'dead-lettered by the broker')} (by the broker)"
            if death
            else "unknown"
        )
        exchange = headers.get(ORIGINAL_EXCHANGE_HEADER, death.get("exchange", ""))
        keys = death.get("routing-keys") or [""]
        routing_key = headers.get(ORIGINAL_ROUTING_KEY_HEADER, keys[0] if keys else "")
        event_id, event_type = _event_of(message.body)
        fingerprint = hashlib.sha256(
            message.body
            + json.dumps(headers, sort_keys=True, default=str).encode()
            + (message.message_id or "").encode()
        ).hexdigest()[:24]
        return cls(
            id=fingerprint,
            queue=queue,
            reason=str(reason),
            original_exchange=str(exchange),
            original_routing_key=str(routing_key),
            failed_at=headers.get(FAILED_AT_HEADER) or _plain(death.get("time")),
            message_id=message.message_id,
            event_id=event_id,
            event_type=event_type,
            content_type=message.content_type,
            headers=headers,
            body=message.body.decode("utf-8", errors="replace"),
        )

    def summary(self, body_chars: int = 500) -> dict[str, Any]:
        document = asdict(self)
        document.pop("headers")
        if len(self.body) > body_chars:
            document["body"] = self.body[:body_chars] + "…"
        return document


def _first_death(headers: Mapping[str, Any]) -> dict[str, Any]:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return deaths[0]
    return {}


def _event_of(body: bytes) -> tuple[str | None, str | None]:
    """The CloudEvent id and type, when the body is one (a malformed body has neither)."""
    try:
        document = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(document, dict):
        return None, None
    event_id, event_type = document.get("id"), document.get("type")
    return (
        event_id if isinstance(event_id, str) else None,
        event_type if isinstance(event_type, str) else None,
    )


class AuditTrail:
    """The record of every dead-letter action, in the service's own database."""

    def __init__(self, db: Database) -> None:
        self._collection = db[AUDIT]

    async def record(
        self,
        action: Action,
        actor: str,
        queue: str,
        letter: DeadLetter | None = None,
        **extra: Any,
    ) -> None:
        document: dict[str, Any] = {
            "_id": uuid.uuid4().hex,
            "at": datetime.now(UTC),
            "action": action,
            "actor": actor,
            "queue": queue,
            **extra,
        }
        if letter is not None:
            document.update(
                dead_letter_id=letter.id,
                message_id=letter.message_id,
                event_id=letter.event_id,
                event_type=letter.event_type,
                routing_key=letter.original_routing_key,
                reason=letter.reason,
            )
        await self._collection.insert_one(document)

    async def recent(
        self, limit: int = 100, queue: str | None = None, *, skip: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """The newest entries first (`skip` of them left out), and how many there are."""
        query: dict[str, Any] = {} if queue is None else {"queue": queue}
        total = await self._collection.count_documents(query)
        cursor = self._collection.find(query).sort("at", DESCENDING).skip(skip).limit(limit)
        entries = []
        async for document in cursor:
            document["id"] = document.pop("_id")
            document["at"] = document["at"].isoformat()
            entries.append(document)
        return entries, total


class DeadLetters:
    """The dead-letter queues of a set of consuming queues, on one broker connection."""

    def __init__(
        self,
        connection: Callable[[], Awaitable[AbstractConnection]],
        queues: Sequence[str],
        db: Database,
    ) -> None:
        self._connection = connection
        self._queues = tuple(queues)
        self._db = db
        self.audit = AuditTrail(db)

    @property
    def queues(self) -> tuple[str, ...]:
        return self._queues

    def _check(self, queue: str) -> None:
        if queue not in self._queues:
            raise UnknownQueue(queue)

    @contextlib.asynccontextmanager
    async def _channel(self) -> AsyncIterator[AbstractChannel]:
        connection = await self._connection()
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        try:
            yield channel
        finally:
            # Closing the channel gives back every message taken and not acknowledged.
            if not channel.is_closed:
                await channel.close()

    async def counts(self) -> dict[str, int]:
        """Messages waiting in each queue's dead-letter queue (a missing one counts 0)."""
        counts: dict[str, int] = {}
        connection = await self._connection()
        for queue in self._queues:
            channel = await connection.channel(publisher_confirms=False)
            try:
                declared = await channel.declare_queue(f"{queue}.dlq", passive=True)
                counts[queue] = int(declared.declaration_result.message_count or 0)
            except aio_pika.exceptions.ChannelClosed:
                counts[queue] = 0
            finally:
                if not channel.is_closed:
                    await channel.close()
        return counts

    async def list(
        self, queue: str, actor: str, limit: int = 50, *, skip: int = 0
    ) -> tuple[list[DeadLetter], int]:
        """The letters of a queue's dead-letter queue in queue order (`skip` of them left out),
        and how many it holds. Looking takes nothing away: every message read is given back
        when the channel closes."""
        self._check(queue)
        letters: list[DeadLetter] = []
        async with self._channel() as channel:
            dlq = await channel.declare_queue(f"{queue}.dlq", passive=True)
            total = int(dlq.declaration_result.message_count or 0)
            seen = 0
            while len(letters) < limit:
                message = await dlq.get(no_ack=False, fail=False)
                if message is None:
                    break
                seen += 1
                if seen > skip:
                    letters.append(DeadLetter.of(queue, message))
        await self.audit.record("list", actor, queue, count=len(letters))
        return letters, max(total, seen)

    async def show(self, queue: str, letter_id: str, actor: str) -> DeadLetter:
        self._check(queue)
        async with self._channel() as channel:
            letter, _ = await self._find(channel, queue, letter_id)
        await self.audit.record("show", actor, queue, letter)
        return letter

    async def replay(self, queue: str, letter_id: str, actor: str) -> DeadLetter:
        """Publish the message again to its original exchange and routing key, then remove it."""
        self._check(queue)
        async with self._channel() as channel:
            letter, message = await self._find(channel, queue, letter_id)
            headers = {
                key: value
                for key, value in (message.headers or {}).items()
                if key not in _DEAD_LETTER_HEADERS
            }
            previous = headers.get(REPLAYS_HEADER)
            headers[REPLAYS_HEADER] = (previous if isinstance(previous, int) else 0) + 1
            headers[REPLAYED_AT_HEADER] = datetime.now(UTC).isoformat()
            exchange = (
                await channel.get_exchange(letter.original_exchange, ensure=False)
                if letter.original_exchange
                else channel.default_exchange
            )
            try:
                await exchange.publish(
                    aio_pika.Message(
                        message.body,
                        headers=headers,
                        content_type=message.content_type,
                        message_id=message.message_id,
                        type=message.type,
                        app_id=message.app_id,
                        timestamp=message.timestamp,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=letter.original_routing_key,
                    mandatory=True,
                )
            except aio_pika.exceptions.DeliveryError as error:
                raise Unroutable(letter.original_routing_key) from error
            # The consumer counts deliveries per event in its inbox: a replay starts afresh.
            if letter.event_id is not None:
                await self._db[INBOX].update_one(
                    {"_id": f"{queue}:{letter.event_id}"},
                    {"$unset": {"redeliveries": "", "last_error": ""}},
                )
            await message.ack()
        await self.audit.record("replay", actor, queue, letter)
        return letter

    async def discard(self, queue: str, letter_id: str, actor: str) -> DeadLetter:
        self._check(queue)
        async with self._channel() as channel:
            letter, message = await self._find(channel, queue, letter_id)
            await message.ack()
        await self.audit.record("discard", actor, queue, letter)
        return letter

    async def _find(
        self, channel: AbstractChannel, queue: str, letter_id: str
    ) -> tuple[DeadLetter, AbstractIncomingMessage]:
        dlq = await channel.declare_queue(f"{queue}.dlq", passive=True)
        for _ in range(SCAN_LIMIT):
            message = await dlq.get(no_ack=False, fail=False)
            if message is None:
                break
            letter = DeadLetter.of(queue, message)
            if letter.id == letter_id:
                return letter, message
        raise NoSuchDeadLetter(letter_id)


# --- the staff API: /v1/ops/dead-letters, role `ops` ----------------------------------------

OpsUser = Annotated[Principal, Depends(require_roles(OPS_ROLE))]


def _dead_letters(request: Request) -> DeadLetters:
    runtime = request.app.state.runtime
    dead: DeadLetters | None = getattr(runtime, "dead_letters", None)
    if dead is None:
        raise NotFound("This service consumes no queue.", "هذه الخدمة لا تستهلك أي طابور رسائل.")
    return dead


Dead = Annotated[DeadLetters, Depends(_dead_letters)]


def _not_found(queue: str, letter_id: str | None = None) -> NotFound:
    if letter_id is None:
        return NotFound(
            f"No consuming queue {queue!r} in this service.",
            f"لا يوجد طابور {queue!r} في هذه الخدمة.",
        )
    return NotFound(
        f"No dead letter {letter_id!r} waits in {queue}.dlq.",
        f"لا توجد رسالة {letter_id!r} في {queue}.dlq.",
    )


@contextlib.contextmanager
def _as_problems(queue: str, letter_id: str | None = None) -> Any:
    try:
        yield
    except UnknownQueue:
        raise _not_found(queue) from None
    except NoSuchDeadLetter:
        raise _not_found(queue, letter_id) from None
    except (ConnectionError, aio_pika.exceptions.AMQPConnectionError):
        raise BrokerUnavailable(
            "RabbitMQ does not answer; try again shortly.",
            "لا يستجيب وسيط الرسائل؛ حاول بعد قليل.",
        ) from None
    except Unroutable as error:
        raise Conflict(
            f"Nothing is bound to routing key {error}: the replay was not delivered and the "
            "message stays in the dead-letter queue.",
            f"لا يوجد طابور مربوط بمفتاح التوجيه {error}: بقيت الرسالة في طابور الرسائل الميتة.",
        ) from None


router = APIRouter(prefix="/v1/ops", tags=["operations: dead letters"])


@router.get("/dead-letters", summary="Dead letters waiting, per queue of this service")
async def queues(user: OpsUser, dead: Dead, paging: Paging) -> Page[dict[str, Any]]:
    with _as_problems(""):
        counts = await dead.counts()
    every = [
        {"queue": queue, "dead_letter_queue": f"{queue}.dlq", "count": count}
        for queue, count in counts.items()
    ]
    return paging.page_of(every[paging.skip : paging.skip + paging.limit], len(every))


@router.get("/dead-letters/{queue}", summary="The dead letters of one queue, with their reason")
async def list_dead_letters(
    queue: str, user: OpsUser, dead: Dead, paging: Paging
) -> Page[dict[str, Any]]:
    with _as_problems(queue):
        letters, total = await dead.list(queue, user.subject, paging.limit, skip=paging.skip)
    return paging.page_of([letter.summary() for letter in letters], total)


@router.get("/dead-letters/{queue}/{letter_id}", summary="One dead letter, whole")
async def show_dead_letter(queue: str, letter_id: str, user: OpsUser, dead: Dead) -> dict[str, Any]:
    with _as_problems(queue, letter_id):
        letter = await dead.show(queue, letter_id, user.subject)
    return asdict(letter)


@router.post(
    "/dead-letters/{queue}/{letter_id}/replay",
    summary="Publish a dead letter again to its original routing key, and remove it",
)
async def replay_dead_letter(
    queue: str, letter_id: str, user: OpsUser, dead: Dead
) -> dict[str, Any]:
    with _as_problems(queue, letter_id):
        letter = await dead.replay(queue, letter_id, user.subject)
    return {"action": "replay", **letter.summary()}


@router.post("/dead-letters/{queue}/{letter_id}/discard", summary="Remove a dead letter for good")
async def discard_dead_letter(
    queue: str, letter_id: str, user: OpsUser, dead: Dead
) -> dict[str, Any]:
    with _as_problems(queue, letter_id):
        letter = await dead.discard(queue, letter_id, user.subject)
    return {"action": "discard", **letter.summary()}


@router.get("/dead-letter-audit", summary="The audit trail of dead-letter actions, newest first")
async def audit_trail(
    user: OpsUser,
    dead: Dead,
    paging: Paging,
    queue: str | None = None,
) -> Page[dict[str, Any]]:
    entries, total = await dead.audit.recent(paging.limit, queue, skip=paging.skip)
    return paging.page_of(entries, total)


# --- the command line ---------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.common.deadletters",
        description="List, show, replay or discard the dead letters of a service's queues. "
        "Reads AMQP_URL, MONGO_URL and MONGO_DATABASE (or SERVICE_NAME) as the service does; "
        "every action is written to the service's audit trail (collection dead_letter_audit).",
    )
    parser.add_argument(
        "--actor",
        default=None,
        help="who acts, for the audit trail (default: the login name)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    counts = commands.add_parser("counts", help="messages waiting in each queue's .dlq")
    counts.add_argument("queues", nargs="+", metavar="QUEUE")
    listing = commands.add_parser("list", help="the dead letters of a queue, with their reason")
    listing.add_argument("queue")
    listing.add_argument("--limit", type=int, default=50)
    for name, text in (
        ("show", "one dead letter, whole"),
        ("replay", "publish it again to its original routing key and remove it"),
        ("discard", "remove it for good"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("queue")
        command.add_argument("id")
    audit = commands.add_parser("audit", help="the audit trail, newest first")
    audit.add_argument("--queue", default=None)
    audit.add_argument("--limit", type=int, default=50)
    return parser


async def _main(args: argparse.Namespace) -> int:
    from services.common.settings import ServiceSettings

    settings = ServiceSettings()
    actor = args.actor or getpass.getuser()
    queues: list[str] = list(getattr(args, "queues", None) or [getattr(args, "queue", None) or ""])
    connection = await aio_pika.connect(settings.amqp_url)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url, tz_aware=True)

    async def connected() -> AbstractConnection:
        return connection

    dead = DeadLetters(connected, queues, client[settings.database_name])
    out: Any
    try:
        if args.command == "counts":
            out = await dead.counts()
        elif args.command == "list":
            letters, _ = await dead.list(args.queue, actor, args.limit)
            out = [letter.summary() for letter in letters]
        elif args.command == "show":
            out = asdict(await dead.show(args.queue, args.id, actor))
        elif args.command == "replay":
            out = {"action": "replay", **(await dead.replay(args.queue, args.id, actor)).summary()}
        elif args.command == "discard":
            letter = await dead.discard(args.queue, args.id, actor)
            out = {"action": "discard", **letter.summary()}
        else:
            out, _ = await dead.audit.recent(args.limit, args.queue)
    except NoSuchDeadLetter as error:
        print(f"no dead letter {error} waits in {args.queue}.dlq", file=sys.stderr)
        return 1
    except Unroutable as error:
        print(f"nothing is bound to routing key {error}; the message stays", file=sys.stderr)
        return 1
    except aio_pika.exceptions.ChannelClosed as error:
        print(f"the broker refused: {error}", file=sys.stderr)
        return 1
    finally:
        await connection.close()
        await client.close()
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(_main(_parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
