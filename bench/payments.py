"""Bills issued per second and latency from `payment.requested` to `bill.issued`, beside a baseline.

    .venv/bin/python -m bench.payments --events 500

Both runs move the same number of events over the real RabbitMQ (and MongoDB-protocol server):
- baseline: the foundation's (bench/outbox.py): each event published directly with confirms and
  consumed by the platform's ConsumerRunner — the floor of any event-driven step here;
- payments: the payments service as its own process (`python -m services.payments`); each event is
  an `exams.payment.requested.v1` published with confirms; the service consumes it, issues the bill
  (a unique-indexed insert carrying its event), and its outbox relay publishes
  `payments.bill.issued.v1`, which this process receives on a queue of its own.
With `--rate N` both runs publish at most N events per second (a steady load below capacity: the
latency of one bill rather than of a queue's backlog); without it, as fast as confirms allow (a
burst: the throughput). Latency is from the start of the publish to the arrival (of the event,
or of its `bill.issued`); throughput is events over the time from the first publish to the last
arrival. Prints p50/p95/p99, events per second, and the payments/baseline ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aio_pika
from pymongo import AsyncMongoClient

from bench.outbox import KEY, REGISTRY_, ROOT, Arrivals, infra_urls, make, paced, summarise
from contracts import Applicant, CloudEvent, LocalizedText, PaymentRequested, new_event
from services.common.broker import BrokerPublisher, QueueBinding, declare_topology, make_broker
from services.common.clock import SystemClock
from services.common.consumer import ConsumerRunner, EventConsumer, Inbox
from services.common.mongo import make_client
from services.common.outbox import OutboxEntry
from services.common.settings import QueueType, ServiceSettings

ISSUED = "payments.bill.issued.v1"


def arrived(arrivals: Arrivals, key: str) -> None:
    """Note a `bill.issued` of this run (keyed by payment reference) in bench/outbox's Arrivals."""
    if key in arrivals.expected:
        arrivals.at[key] = time.perf_counter()
    if len(arrivals.at) >= len(arrivals.expected):
        arrivals.done.set()


def payment_requested(item: int, run: str) -> CloudEvent:
    number = f"EX-2026-{run}{item:06d}"
    data = PaymentRequested(
        payment_reference=f"exams:{number}:fee",
        request_number=number,
        amount_fils=25000,
        description=LocalizedText(ar="رسوم امتحان", en="Exam fee"),
        due_at=datetime.now(UTC) + timedelta(days=3),
        payer=Applicant(name="Bench Payer", phone="+962791234567"),
        service_type="exams.exam_fee",
        owner_subject="bench-citizen",
    )
    return new_event(
        "exams.payment.requested.v1",
        data,
        source_service="exams",
        subject=number,
        time=datetime.now(UTC),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_payments(
    amqp_url: str, mongo_url: str, database: str, suffix: str
) -> subprocess.Popen[bytes]:
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "AMQP_URL": amqp_url,
        "MONGO_URL": mongo_url,
        "MONGO_DATABASE": database,
        "QUEUE_TYPE": "classic",
        "QUEUE_SUFFIX": suffix,
        "HTTP_PORT": str(port),
        "PREFETCH_COUNT": "50",
        "LOG_LEVEL": "WARNING",
    }
    log = (Path("/tmp") / f"bench-payments-{suffix}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.payments"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the payments service exited; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the payments service did not become ready in 60 s")


async def baseline(settings: ServiceSettings, events: int, rate: float) -> dict[str, float]:
    """The foundation's baseline, built from bench/outbox.py's pieces."""
    client = make_client(settings.mongo_url, "bench")
    broker = make_broker(settings)
    publisher = BrokerPublisher(broker, settings)
    arrivals = Arrivals()
    queue = f"bench.baseline.{uuid.uuid4().hex[:6]}"
    ConsumerRunner(
        EventConsumer(QueueBinding(queue, [KEY]), {KEY: arrivals.handler}, registry=REGISTRY_),
        broker=broker,
        publisher=publisher,
        inbox=Inbox(client[settings.database_name], SystemClock()),
        clock=SystemClock(),
        settings=settings,
    )
    await broker.connect()
    await declare_topology(broker, settings, [QueueBinding(queue, [KEY])])
    await broker.start()
    try:
        warm_up = [make(-n) for n in range(20)]
        arrivals.reset({event.id for event in warm_up})
        for event in warm_up:
            await publisher.publish(OutboxEntry.from_event(event))
        await asyncio.wait_for(arrivals.done.wait(), 60)
        batch = [make(n) for n in range(events)]
        arrivals.reset({event.id for event in batch})
        started: dict[str, float] = {}
        first = time.perf_counter()
        for index, event in enumerate(batch):
            await paced(index, first, rate)
            started[event.id] = time.perf_counter()
            await publisher.publish(OutboxEntry.from_event(event))
        await asyncio.wait_for(arrivals.done.wait(), 300)
        return summarise("baseline", started, arrivals)
    finally:
        await broker.stop()
        await client.drop_database(settings.database_name)
        await client.close()
        await _delete_queues(settings.amqp_url, queue, f"{queue}.dlq")


async def through_payments(settings: ServiceSettings, events: int, rate: float) -> dict[str, float]:
    suffix = uuid.uuid4().hex[:8]
    database = f"bench_payments_{suffix}"
    process = start_payments(settings.amqp_url, settings.mongo_url, database, suffix)
    arrivals = Arrivals()
    connection = await aio_pika.connect_robust(settings.amqp_url)
    broker = make_broker(settings)
    publisher = BrokerPublisher(broker, settings)
    try:
        channel = await connection.channel()
        issued = await channel.declare_queue(exclusive=True, auto_delete=True)
        await issued.bind("amman.events", routing_key=ISSUED)

        async def on_issued(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            arrived(arrivals, json.loads(message.body)["data"]["payment_reference"])
            await message.ack()

        await issued.consume(on_issued)
        await broker.connect()
        run = uuid.uuid4().hex[:6]
        warm_up = [payment_requested(n, f"w{run}") for n in range(20)]
        arrivals.reset({event.data["payment_reference"] for event in warm_up})
        for event in warm_up:
            await publisher.publish(OutboxEntry.from_event(event))
        await asyncio.wait_for(arrivals.done.wait(), 60)
        batch = [payment_requested(n, run) for n in range(events)]
        arrivals.reset({event.data["payment_reference"] for event in batch})
        started: dict[str, float] = {}
        first = time.perf_counter()
        for index, event in enumerate(batch):
            await paced(index, first, rate)
            started[event.data["payment_reference"]] = time.perf_counter()
            await publisher.publish(OutboxEntry.from_event(event))
        await asyncio.wait_for(arrivals.done.wait(), 600)
        return summarise("payments", started, arrivals)
    finally:
        await broker.stop()
        await connection.close()
        process.terminate()
        process.wait(30)
        mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url)
        await mongo.drop_database(database)
        await mongo.close()
        queue = f"payments.requests.{suffix}"
        await _delete_queues(settings.amqp_url, queue, f"{queue}.dlq")


async def _delete_queues(amqp_url: str, *names: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for name in names:
            await channel.queue_delete(name)
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--rate", type=float, default=0.0, help="events per second (0: burst)")
    args = parser.parse_args()
    amqp_url, mongo_url = infra_urls()
    settings = ServiceSettings(
        service_name="bench",
        amqp_url=amqp_url,
        mongo_url=mongo_url,
        mongo_database=f"bench_{uuid.uuid4().hex[:8]}",
        queue_type=QueueType.CLASSIC,
        prefetch_count=50,
    )
    base = await baseline(settings, args.events, args.rate)
    bills = await through_payments(settings, args.events, args.rate)
    print(
        f"ratio     payments/baseline: throughput "
        f"{bills['events_per_s'] / base['events_per_s']:.2f}x, "
        f"p50 latency {bills['p50_ms'] / base['p50_ms']:.2f}x, "
        f"p99 latency {bills['p99_ms'] / base['p99_ms']:.2f}x"
    )
    print(f"payments  {bills['events_per_s']:.1f} bills issued per second")


if __name__ == "__main__":
    asyncio.run(main())
