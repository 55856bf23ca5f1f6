"""SMS per second, and latency from event published to message sent, beside the outbox baseline.

    .venv/bin/python -m bench.notifier
        (--messages 300 --paced 100 --rate 10 --workers 8 --poll 0.05 are the defaults)

Three runs over the real RabbitMQ and MongoDB-protocol server, the same number of messages each:
- baseline: the foundation's floor (`bench.payments.baseline`, built from bench/outbox.py's
            pieces): each event published directly with confirms to a bare consumer
            (validation, inbox, ack) that does nothing else — a burst, then paced;
- log:      the notifier as its own process (`python -m services.notifier`) with the log gateway:
            each `payments.bill.issued.v1` published with confirms is consumed, rendered and
            recorded (`queued`), claimed by a sender, and recorded `sent` (then `delivered`);
- http:     the same through the HTTP gateway to a fake provider, a real HTTP server in this
            process that answers at once;
- smpp:     the same through the SMPP gateway to the test SMSC (npm's `smpp` server,
            tests/integration/notifier/smsc; `make smsc` installs it), which answers at once and
            sends a delivery receipt for each message.
Each notifier run is a burst (`--messages` events published as fast as confirms allow:
throughput, and latency behind the backlog it builds) and then a paced run (`--paced` events at
`--rate` a second: latency without a backlog). Latency is from just before the event's publish to
the `sent` step the notifier recorded (both read from this machine's clock); throughput is
messages over the time from the first publish to the last `sent`. The rate limit is lifted (it
would measure itself); the notifier logs at WARNING.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from pymongo import AsyncMongoClient

from bench.outbox import Arrivals, infra_urls, paced, summarise
from bench.payments import baseline
from contracts import Applicant, BillIssued, LocalizedText, new_event
from services.common.settings import QueueType, ServiceSettings
from tests.integration.conftest import free_port
from tests.integration.notifier.provider import FakeProvider
from tests.integration.notifier.smsc import PASSWORD, SYSTEM_ID, Smsc

ROOT = Path(__file__).resolve().parents[1]


def phone(number: int) -> str:
    return f"+96279{2_000_000 + number}"


PHONES = {phone(number) for number in range(100_000)}


def bill(phone: str, number: int, service: str = "exams") -> Any:
    """A `payments.bill.issued.v1` of `service`'s request `EX-2026-<number>`."""
    request_number = f"EX-2026-{number:06d}"
    return new_event(
        "payments.bill.issued.v1",
        BillIssued(
            payment_reference=f"{service}:{request_number}:fee",
            request_number=request_number,
            e_payment_number="2026000123457",
            amount_fils=12500,
            due_at=datetime.now(UTC) + timedelta(days=3),
            description=LocalizedText(ar="رسوم امتحان تجريبي: ICDL", en="Trial exam fee: ICDL"),
            applicant=Applicant(name="ليلى أحمد", phone=phone),
        ),
        source_service="payments",
        subject=request_number,
        time=datetime.now(UTC),
    )


async def publish(exchange: Any, event: Any) -> None:
    """Publish `event` on `amman.events` as a service's relay does: persistent, its id the
    message's, and wait for the confirm (the channel's publisher confirms)."""
    await exchange.publish(
        aio_pika.Message(
            event.to_json(),
            message_id=event.id,
            content_type="application/cloudevents+json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=event.routing_key,
    )


async def through_the_notifier(
    name: str, amqp_url: str, mongo_url: str, args: argparse.Namespace, env: dict[str, str]
) -> tuple[dict[str, float], dict[str, float]]:
    """One notifier process: a burst of `--messages` events (throughput, latency under a
    backlog), then `--paced` events at `--rate` a second (latency without one)."""
    database = f"bench_notifier_{uuid.uuid4().hex[:8]}"
    suffix = f"bench{uuid.uuid4().hex[:6]}"
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.notifier",
        cwd=ROOT,
        env={
            **os.environ,
            "ENVIRONMENT": "test",
            "AMQP_URL": amqp_url,
            "MONGO_URL": mongo_url,
            "MONGO_DATABASE": database,
            "QUEUE_SUFFIX": suffix,
            "QUEUE_TYPE": "classic",
            "HTTP_PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "NOTIFIER_RATE_LIMIT_PER_SECOND": "100000",
            **env,
        },
    )
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        await _ready(port, process)
        channel = await connection.channel()  # publisher confirms on
        exchange = await channel.get_exchange("amman.events")
        messages = mongo[database]["messages"]
        burst = range(args.messages)
        figures = await _measure(name, exchange, messages, burst, rate=0.0)
        steady = range(args.messages, args.messages + args.paced)
        label = f"{name} @{args.rate:g}/s"
        return figures, await _measure(label, exchange, messages, steady, rate=args.rate)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
        await mongo.drop_database(database)
        await mongo.close()
        channel = await connection.channel()
        for queue in ("notifier.events", "notifier.commands"):
            for name_ in (f"{queue}.{suffix}", f"{queue}.{suffix}.dlq"):
                await channel.queue_delete(name_)
        await connection.close()


async def _measure(
    name: str, exchange: Any, messages: Any, numbers: range, rate: float
) -> dict[str, float]:
    started: dict[str, float] = {}
    first = time.perf_counter()
    for index, number in enumerate(numbers):
        await paced(index, first, rate)
        event = bill(phone(number), number)
        started[event.id] = time.time()
        await publish(exchange, event)
    arrivals = Arrivals()
    queued_at, arrivals.at = await _recorded_times(messages, set(started))
    figures = summarise(name, started, arrivals)
    to_queued = sorted(queued_at[i] - started[i] for i in started)
    to_sent = sorted(arrivals.at[i] - queued_at[i] for i in started)
    print(
        f"{'':9} of which published -> queued p50 {_median_ms(to_queued):7.1f} ms, "
        f"queued -> sent p50 {_median_ms(to_sent):7.1f} ms"
    )
    return figures


async def _ready(port: int, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError("the notifier exited; run it by hand to see why")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the notifier was not ready within 60 s")


async def _recorded_times(
    messages: Any, event_ids: set[str]
) -> tuple[dict[str, float], dict[str, float]]:
    """When each event's message was recorded `queued` and `sent`, once all of them are sent."""
    deadline = time.monotonic() + 600
    query = {"event_id": {"$in": sorted(event_ids)}, "sent_at": {"$exists": True}}
    while time.monotonic() < deadline:
        if await messages.count_documents(query) >= len(event_ids):
            found = await messages.find(
                query, {"event_id": 1, "queued_at": 1, "sent_at": 1}
            ).to_list()
            return (
                {doc["event_id"]: doc["queued_at"].timestamp() for doc in found},
                {doc["event_id"]: doc["sent_at"].timestamp() for doc in found},
            )
        await asyncio.sleep(0.5)
    raise RuntimeError("not every message was sent within 10 minutes")


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300, help="the burst")
    parser.add_argument("--paced", type=int, default=100, help="events published at --rate")
    parser.add_argument("--rate", type=float, default=10.0, help="events a second, paced run")
    parser.add_argument("--workers", type=int, default=8, help="NOTIFIER_SEND_WORKERS")
    parser.add_argument("--poll", type=float, default=0.05, help="NOTIFIER_SEND_POLL_SECONDS")
    args = parser.parse_args()
    amqp_url, mongo_url = infra_urls()
    tuning = {
        "NOTIFIER_SEND_WORKERS": str(args.workers),
        "NOTIFIER_SEND_POLL_SECONDS": str(args.poll),
    }
    print(
        f"{args.messages} messages in a burst, then {args.paced} at {args.rate:g}/s; notifier: "
        f"{args.workers} send workers, poll {args.poll:g} s, no rate limit"
    )
    settings = ServiceSettings(
        service_name="bench",
        amqp_url=amqp_url,
        mongo_url=mongo_url,
        mongo_database=f"bench_{uuid.uuid4().hex[:8]}",
        queue_type=QueueType.CLASSIC,
    )
    base = await baseline(settings, args.messages, 0.0)
    print(f"(baseline again, {args.paced} events at {args.rate:g}/s:)")
    base_paced = await baseline(settings, args.paced, args.rate)
    log = await through_the_notifier(
        "log", amqp_url, mongo_url, args, {**tuning, "NOTIFIER_GATEWAY": "log"}
    )
    provider = FakeProvider()
    await provider.start()
    try:
        http = await through_the_notifier(
            "http",
            amqp_url,
            mongo_url,
            args,
            {
                **tuning,
                "NOTIFIER_GATEWAY": "http",
                "NOTIFIER_HTTP_URL": provider.url,
                "NOTIFIER_HTTP_TOKEN": "bench",
            },
        )
    finally:
        await provider.stop()
    # Other suites' bills may reach the notifier too (it binds the shared exchange): count ours.
    ours = [request.reference for request in provider.requests if request.to in PHONES]
    expected = args.messages + args.paced
    assert len(ours) == len(set(ours)) == expected, "the provider got every SMS once"
    with tempfile.TemporaryDirectory() as directory:
        smsc = Smsc(Path(directory) / "smsc.log")
        await smsc.start()
        try:
            smpp = await through_the_notifier(
                "smpp",
                amqp_url,
                mongo_url,
                args,
                {
                    **tuning,
                    "NOTIFIER_GATEWAY": "smpp",
                    "NOTIFIER_SMPP_HOST": "127.0.0.1",
                    "NOTIFIER_SMPP_PORT": str(smsc.port),
                    "NOTIFIER_SMPP_SYSTEM_ID": SYSTEM_ID,
                    "NOTIFIER_SMPP_PASSWORD": PASSWORD,
                },
            )
            # Each part once: (number, concatenation header) never repeats.
            submitted = [
                (pdu["destination_addr"], *pdu["udh"])
                for pdu in await smsc.pdus("submit_sm")
                if f"+{pdu['destination_addr']}" in PHONES
            ]
        finally:
            smsc.stop()
    assert len(submitted) == len(set(submitted)), "the SMSC got a part twice"
    assert len({part[0] for part in submitted}) == expected, "the SMSC got every SMS"
    for name, (burst, steady) in (("log", log), ("http", http), ("smpp", smpp)):
        for label, figures, floor in (("", burst, base), (" paced", steady, base_paced)):
            print(
                f"ratio     {name}{label}/baseline: throughput "
                f"{figures['events_per_s'] / floor['events_per_s']:.2f}x, "
                f"p50 latency {figures['p50_ms'] / floor['p50_ms']:.1f}x, "
                f"p99 latency {figures['p99_ms'] / floor['p99_ms']:.1f}x"
            )


if __name__ == "__main__":
    asyncio.run(main())
