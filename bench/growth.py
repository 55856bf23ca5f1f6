"""Does a citizen's request cost more as the database fills? Exams at 1,000 and 10,000 requests,
and the notifier at 1,000 and 10,000 messages.

    .venv/bin/python -m bench.growth
        (--small 1000 --large 10000 --calls 40 --pending 50 are the defaults)

Two exams processes (`python -m services.exams`, logging at WARNING) run side by side in a
RabbitMQ virtual host of their own, each with a fresh database (dropped afterwards): one holds
`--small` requests, the other `--large`. One citizen's request goes through the real
`POST /v1/requests` (the README's trial exam); the stored requests are copies of it written
straight to the databases (a number, an owner and a submission time of their own), as a
municipality's would be after some weeks: all but `--pending` of them finished
(`certificate_collected`); `--pending` still `awaiting_payment`, each with a deadline an hour
ahead (the field a deadline sweeper watches; none is due). Likewise for the notifier: one real SMS
(a notifier process with the log gateway sends the e-payment SMS of one `payments.bill.issued.v1`)
copied into two databases of the notifier's, `--small` and `--large` messages, all but `--pending`
delivered, `--pending` waiting for a retry an hour ahead (none due).

Each operation `--calls` times on each, one call at a time, alternating between the two (so that
a change in the machine's load falls on both alike): the median of each, and their ratio:
- a POST: a citizen's `POST /v1/requests` (with its `Idempotency-Key`), through the relay;
- a citizen's inquiry: `GET /v1/requests/{number}` of one of their stored requests;
- a citizen's own list: `GET /v1/requests` (three requests of their own);
- a staff list with a status filter: a coordinator's `GET /v1/requests?status=awaiting_payment`
  (the first page of the `--pending` requests, and their count);
- one sweeper pass: `DeadlineSweeper.sweep()` (services/common/sweeper.py) over the requests,
  on the pending requests' deadline field with its sparse index, nothing due (exams' own sweeper
  watches its sessions, which do not grow with requests; the licensing and training sweepers
  watch their requests like this);
- one outbox scan: the relay's backstop scan over the requests (`OutboxRelay.drain()`, the query
  every poll runs: `outbox_pending: true`, nothing pending; its first scan at a relay's start,
  which reads everything once, is not timed);
- one sender scan: the notifier's query for the messages due now (`MessageStore.due`, a date
  range on the indexed `next_attempt_at`, none due), the scan its sender runs on every poll;
- the public catalogue (`GET /v1/catalogue`), the same processes without the database: the
  control (about 1.0x).
Targets (the issue): at most 1.5x for the POST and the inquiry, 3x for the lists and the passes
(the sweeper's, the outbox's and the sender's scans: the work that runs on every poll).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from bench.notifier import bill, publish
from bench.outbox import infra_urls
from bench.requests import form
from services.common.clock import SystemClock
from services.common.devtoken import ensure_dev_keys, mint_token
from services.common.mongo import Document, ensure_indexes
from services.common.outbox import (
    LEASE_OWNER_FIELD,
    LEASE_UNTIL_FIELD,
    OUTBOX_FIELD,
    PENDING_FIELD,
    Outbox,
    OutboxEntry,
    OutboxRelay,
)
from services.common.sweeper import DeadlineSweeper, deadline_index
from services.exams.domain import COORDINATOR
from services.notifier import store as notifier_store
from services.notifier.domain import Status
from tests.integration.conftest import ServiceProcess
from tests.integration.platform import Broker, isolated_broker

REQUESTS = "requests"
DUE_FIELD = "payment_due_at"
PENDING_STATUS = "awaiting_payment"
DONE_STATUS = "certificate_collected"
TARGETS = {
    "POST": 1.5,
    "inquiry": 1.5,
    "own list": 3.0,
    "staff list": 3.0,
    "sweeper pass": 3.0,
    "outbox scan": 3.0,
    "sender scan": 3.0,
}
MESSAGES = notifier_store.MESSAGES
# The messages' fields that are the sender's or the relay's, not kept in a stored copy.
HELD = (
    OUTBOX_FIELD,
    PENDING_FIELD,
    LEASE_UNTIL_FIELD,
    LEASE_OWNER_FIELD,
    notifier_store.SEND_LEASE_UNTIL,
    notifier_store.SEND_LEASE_OWNER,
    notifier_store.SEND_LEASE_HOLDER,
    notifier_store.NEXT_ATTEMPT,
    notifier_store.CONFIRM_BY,
)


class Exams:
    def __init__(self, amqp_url: str, mongo_url: str, folder: Path, name: str) -> None:
        private, public = ensure_dev_keys(folder / "keys")
        self.private_key = private.read_text()
        suffix = uuid.uuid4().hex[:8]
        self.database = f"bench_growth_{suffix}"
        # The notifier's messages stored beside this size's requests (no notifier process).
        self.messages_database = f"bench_growth_{suffix}_messages"
        self.process = ServiceProcess(
            "services.exams",
            {
                "ENVIRONMENT": "test",
                "AMQP_URL": amqp_url,
                "MONGO_URL": mongo_url,
                "MONGO_DATABASE": self.database,
                "QUEUE_TYPE": "classic",
                "QUEUE_SUFFIX": suffix,
                "JWT_PUBLIC_KEY": public.read_text(),
                "LOG_LEVEL": "WARNING",
            },
            folder / f"exams-{name}.log",
        )

    def token(self, subject: str, *roles: str) -> str:
        return mint_token(subject, roles or ("citizen",), private_key_pem=self.private_key)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


Call = Callable[[int], Awaitable[Any]]


async def alternated(calls: int, small: Call, large: Call) -> tuple[float, float]:
    """The medians of `calls` calls of each, one at a time, alternating (which goes first
    alternates too), after two of each not counted."""
    for number in range(2):
        await small(-1 - number)
        await large(-1 - number)
    samples: dict[int, list[float]] = {0: [], 1: []}
    for number in range(calls):
        order = [(0, small), (1, large)] if number % 2 == 0 else [(1, large), (0, small)]
        for side, call in order:
            started = time.perf_counter()
            await call(number)
            samples[side].append(time.perf_counter() - started)
    return median_ms(samples[0]), median_ms(samples[1])


def copies(template: Document, start: int, stop: int, pending: int, run: str) -> list[Document]:
    """Stored requests `start`..`stop`: citizen k owns requests 3k, 3k+1, 3k+2; the first
    `pending` await payment with a deadline an hour ahead, the rest are finished."""
    now = datetime.now(UTC)
    documents = []
    for index in range(start, stop):
        document = {k: v for k, v in template.items() if k not in (OUTBOX_FIELD, PENDING_FIELD)}
        number = f"EX-2025-{index + 1:06d}"
        document.update(
            _id=number,
            request_number=number,
            owner_subject=f"citizen-{run}-{index // 3}",
            submitted_at=now - timedelta(days=60, minutes=index),
            status=PENDING_STATUS if index < pending else DONE_STATUS,
            outbox=[],
        )
        if index < pending:
            document[DUE_FIELD] = now + timedelta(hours=1)
        documents.append(document)
    return documents


def message_copies(template: Document, start: int, stop: int, pending: int) -> list[Document]:
    """Stored messages `start`..`stop`, copies of one real SMS: the first `pending` wait for a
    retry an hour ahead, the rest were delivered."""
    now = datetime.now(UTC)
    documents = []
    for index in range(start, stop):
        document = {k: v for k, v in template.items() if k not in HELD}
        document.update(
            _id=uuid.uuid4().hex,
            event_id=str(uuid.uuid4()),
            created_at=now - timedelta(days=60, minutes=index),
            status=Status.DELIVERED.value,
            outbox=[],
        )
        if index < pending:
            document["status"] = Status.TEMPORARY_FAILURE.value
            document[notifier_store.NEXT_ATTEMPT] = now + timedelta(hours=1)
        documents.append(document)
    return documents


async def message_template(broker: Broker, mongo_url: str, mongo: Any, folder: Path) -> Document:
    """One real SMS as the notifier stores it: a notifier process (the log gateway) sends the
    e-payment SMS of one `payments.bill.issued.v1` (of no service of the platform's, so that the
    exams processes leave it alone)."""
    database = f"bench_growth_{uuid.uuid4().hex[:8]}_notifier"
    notifier = ServiceProcess(
        "services.notifier",
        {
            "ENVIRONMENT": "test",
            "AMQP_URL": broker.url,
            "MONGO_URL": mongo_url,
            "MONGO_DATABASE": database,
            "QUEUE_TYPE": "classic",
            "QUEUE_SUFFIX": uuid.uuid4().hex[:8],
            "NOTIFIER_GATEWAY": "log",
            "LOG_LEVEL": "WARNING",
        },
        folder / "notifier.log",
    )
    notifier.start()
    try:
        await notifier.wait_ready(timeout=60)
        event = bill("+962791234567", 1, service="bench")
        channel = await broker.connection.channel()  # publisher confirms on
        exchange = await channel.get_exchange("amman.events")
        await publish(exchange, event)
        await channel.close()
        messages = mongo[database][MESSAGES]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = await messages.find_one({"event_id": event.id, "sent_at": {"$exists": True}})
            if found is not None:
                return dict(found)
            await asyncio.sleep(0.2)
        raise RuntimeError(f"the notifier sent no SMS within 60 s: {notifier.log_tail()}")
    finally:
        notifier.terminate(timeout=30)
        await mongo.drop_database(database)


class NoPublishing:
    """The relay's publisher in the outbox scan: nothing is pending, so nothing is published."""

    async def publish(self, entry: OutboxEntry) -> None:
        raise AssertionError(f"nothing is pending, yet {entry.id} was published")


def operations(
    exams: Exams,
    client: httpx.AsyncClient,
    db: Any,
    messages_db: Any,
    run: str,
    stored: int,
    posts: int,
) -> dict[str, Call]:
    """The timed operations on one exams process and its database. The tokens are made here,
    before any call is timed: each POST is a new citizen's."""
    citizen = exams.token(f"citizen-{run}-7")  # owns EX-2025-000022..24
    coordinator = exams.token(f"coordinator-{run}", COORDINATOR)
    posters = [exams.token(f"poster-{run}-{stored}-{n}") for n in range(posts + 1)]
    poster = {"n": 0}

    def ok(response: httpx.Response, status: int = 200) -> None:
        if response.status_code != status:
            raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")

    async def post(_: int) -> None:
        poster["n"] += 1
        response = await client.post(
            "/v1/requests",
            json=form(poster["n"]),
            headers={
                "Authorization": f"Bearer {posters[poster['n']]}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )
        ok(response, 201)

    async def inquiry(_: int) -> None:
        ok(await client.get("/v1/requests/EX-2025-000023", headers=bearer(citizen)))

    async def own_list(_: int) -> None:
        response = await client.get("/v1/requests", headers=bearer(citizen))
        ok(response)
        assert response.json()["total"] == 3, response.text

    async def staff_list(_: int) -> None:
        response = await client.get(
            "/v1/requests", params={"status": PENDING_STATUS}, headers=bearer(coordinator)
        )
        ok(response)

    sweeper = DeadlineSweeper("bench", db[REQUESTS], nothing_due, SystemClock(), field=DUE_FIELD)

    async def sweep(_: int) -> None:
        acted = await sweeper.sweep()
        assert acted == 0

    # Its first scan (at a relay's start, once) reads every document: `alternated`'s two calls
    # not counted take it.
    relay = OutboxRelay(db, [REQUESTS], NoPublishing(), Outbox(), SystemClock())

    async def outbox_scan(_: int) -> None:
        await relay.drain()

    sender = notifier_store.MessageStore(messages_db, Outbox())

    async def sender_scan(_: int) -> None:
        due = await sender.due(datetime.now(UTC), 100)
        assert due == [], due

    async def catalogue(_: int) -> None:
        ok(await client.get("/v1/catalogue"))

    return {
        "catalogue (control)": catalogue,
        "POST": post,
        "inquiry": inquiry,
        "own list": own_list,
        "staff list": staff_list,
        "sweeper pass": sweep,
        "outbox scan": outbox_scan,
        "sender scan": sender_scan,
    }


async def nothing_due(document: Document) -> None:
    raise AssertionError(f"nothing is due, yet {document['_id']} was")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def run(
    small: Exams,
    large: Exams,
    mongo: Any,
    args: argparse.Namespace,
    broker: Broker,
    folder: Path,
    mongo_url: str,
) -> None:
    run_id = uuid.uuid4().hex[:6]
    message = await message_template(broker, mongo_url, mongo, folder)
    async with (
        httpx.AsyncClient(base_url=small.process.url, timeout=60) as small_client,
        httpx.AsyncClient(base_url=large.process.url, timeout=60) as large_client,
    ):
        response = await small_client.post(
            "/v1/requests",
            json=form(0),
            headers={"Authorization": f"Bearer {small.token('template')}"},
        )
        if response.status_code != 201:
            raise RuntimeError(response.text)
        number = response.json()["request_number"]
        template = await mongo[small.database][REQUESTS].find_one({"_id": number})
        assert template is not None
        sides = []
        for exams, client, size in (
            (small, small_client, args.small),
            (large, large_client, args.large),
        ):
            db = mongo[exams.database]
            await ensure_indexes(db, [deadline_index(REQUESTS, DUE_FIELD)])
            if exams is small:
                await db[REQUESTS].delete_one({"_id": number})
            messages_db = mongo[exams.messages_database]
            await ensure_indexes(messages_db, notifier_store.INDEXES)
            for start in range(0, size, 1000):
                stop = min(start + 1000, size)
                await db[REQUESTS].insert_many(copies(template, start, stop, args.pending, run_id))
                await messages_db[MESSAGES].insert_many(
                    message_copies(message, start, stop, args.pending)
                )
            # Two calls of each go first, not counted (`alternated`).
            posts = args.calls + 2
            sides.append(operations(exams, client, db, messages_db, run_id, size, posts))
        started = time.perf_counter()
        figures = {
            name: await alternated(args.calls, sides[0][name], sides[1][name]) for name in sides[0]
        }
        print(f"measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    ratio = (
        f"{args.large:g}/{args.small:g}"
        if args.small % 1000
        else f"{args.large // 1000}k/{args.small // 1000}k"
    )
    print(
        f"\nexams, and the notifier's sender scan: median of {args.calls} calls, "
        "one at a time, alternating, ms"
    )
    print(f"{'':22}{args.small:>9}{args.large:>9}{ratio:>10}   target")
    for name, (at_small, at_large) in figures.items():
        target = TARGETS.get(name)
        grown = at_large / at_small
        met = "met" if target is not None and grown <= target else "NOT met"
        verdict = "" if target is None else f"<={target:g}x {met}"
        print(f"{name:22}{at_small:9.1f}{at_large:9.1f}{grown:9.2f}x   {verdict}")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=1000, help="requests stored, one process")
    parser.add_argument("--large", type=int, default=10000, help="requests stored, the other")
    parser.add_argument("--calls", type=int, default=40, help="calls of each operation on each")
    parser.add_argument("--pending", type=int, default=50, help="stored requests not finished")
    args = parser.parse_args()
    amqp_url, mongo_url = infra_urls()
    folder = Path(tempfile.mkdtemp(prefix="bench-growth-"))
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    failed = True
    try:
        async with isolated_broker(amqp_url, f"bench-growth-{uuid.uuid4().hex[:8]}") as broker:
            small = Exams(broker.url, mongo_url, folder, "small")
            large = Exams(broker.url, mongo_url, folder, "large")
            try:
                for exams in (small, large):
                    exams.process.start()
                await asyncio.gather(*(e.process.wait_ready(timeout=60) for e in (small, large)))
                await run(small, large, mongo, args, broker, folder, mongo_url)
                failed = False
            finally:
                for exams in (small, large):
                    exams.process.terminate(timeout=30)
                    await mongo.drop_database(exams.database)
                    await mongo.drop_database(exams.messages_database)
    finally:
        await mongo.close()
        if failed:
            print(f"the service's log is in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
