"""Outbox throughput and latency, beside a baseline measured in the same run.

    make bench            (or: .venv/bin/python -m bench.outbox --events 1000 [--rate 20])

Both runs deliver the same number of events to the same consumer (the platform's ConsumerRunner:
validation, inbox, ack) over the real RabbitMQ and MongoDB-protocol server:
- baseline: each event published directly with publisher confirms, one after the other;
- outbox:   each event written with its document (one insert: state + event), then published by
            the relay, which claims, publishes with confirms and removes it.
Latency is from the start of the publish (baseline) or of the write (outbox) to the consumer's
handler; throughput is events over the time from the first start to the last arrival. A burst
(the default) measures capacity, and its latency is mostly the backlog; `--rate N` offers a steady
load below capacity, whose latency is the cost of one event's path. Prints
p50/p95/p99, events per second, the outbox/baseline ratios, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shlex
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from contracts import REGISTRY, CloudEvent, ContractModel, EventSpec, new_event
from services.common.broker import (
    BrokerPublisher,
    QueueBinding,
    declare_topology,
    make_broker,
)
from services.common.clock import SystemClock
from services.common.consumer import ConsumerRunner, EventConsumer, Inbox
from services.common.mongo import ensure_indexes, make_client
from services.common.outbox import Outbox, OutboxEntry, OutboxRelay, outbox_indexes
from services.common.settings import QueueType, ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench.item.recorded.v1"


class ItemRecorded(ContractModel):
    item: int = Field(description="Sequence number within the run")


REGISTRY_ = REGISTRY.copy()
REGISTRY_.register(EventSpec(KEY, ItemRecorded, producer="bench", summary="Benchmark event"))


def infra_urls() -> tuple[str, str]:
    """The running infrastructure's URLs (deploy/infra.sh); `MONGO_URL` in the environment wins
    (to measure another MongoDB-protocol server, e.g. FerretDB on the other backend)."""
    values: dict[str, str] = {}
    for line in (ROOT / ".local" / "infra.env").read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = shlex.split(value)[0] if value else ""
    return values["AMQP_URL"], os.environ.get("MONGO_URL") or values["MONGO_URL"]


async def paced(index: int, first: float, rate: float) -> None:
    """Wait until event `index` is due at `rate` per second (no wait when rate is 0)."""
    if rate > 0:
        await asyncio.sleep(max(0.0, first + index / rate - time.perf_counter()))


def make(item: int) -> CloudEvent:
    return new_event(
        KEY,
        ItemRecorded(item=item),
        source_service="bench",
        subject=f"item-{item}",
        time=datetime.now(UTC),
        registry=REGISTRY_,
    )


class Arrivals:
    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.expected: set[str] = set()
        self.done = asyncio.Event()

    def reset(self, expected_ids: set[str]) -> None:
        self.at.clear()
        self.expected = set(expected_ids)
        self.done.clear()

    async def handler(self, event: CloudEvent, data: Any) -> None:
        if event.id in self.expected:
            self.at[event.id] = time.perf_counter()
        if len(self.at) >= len(self.expected):
            self.done.set()


def summarise(name: str, started: dict[str, float], arrivals: Arrivals) -> dict[str, float]:
    # Only this run's events count (a late duplicate of an earlier run's event would be foreign).
    latencies = sorted(arrivals.at[i] - started[i] for i in started if i in arrivals.at)
    total = max(arrivals.at.values()) - min(started.values())
    quantiles = statistics.quantiles(latencies, n=100)
    figures = {
        "events_per_s": len(latencies) / total,
        "p50_ms": quantiles[49] * 1000,
        "p95_ms": quantiles[94] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }
    print(
        f"{name:9} {len(latencies):6d} events  {figures['events_per_s']:8.1f} ev/s  "
        f"p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms  "
        f"p99 {figures['p99_ms']:7.1f} ms"
    )
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers (outbox run)")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="events per second in both runs (0: a burst)"
    )
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
    clock = SystemClock()
    client = make_client(mongo_url, "bench")
    db = client[settings.database_name]
    await ensure_indexes(db, outbox_indexes(["items"]))
    broker = make_broker(settings)
    publisher = BrokerPublisher(broker, settings)
    arrivals = Arrivals()
    queue = f"bench.outbox.{uuid.uuid4().hex[:6]}"
    ConsumerRunner(
        EventConsumer(QueueBinding(queue, [KEY]), {KEY: arrivals.handler}, registry=REGISTRY_),
        broker=broker,
        publisher=publisher,
        inbox=Inbox(db, clock),
        clock=clock,
        settings=settings,
    )
    await broker.connect()
    await declare_topology(broker, settings, [QueueBinding(queue, [KEY])])
    await broker.start()

    # Warm-up: connections, indexes, code paths.
    warm_up = [make(-n) for n in range(1, 21)]
    arrivals.reset({event.id for event in warm_up})
    for event in warm_up:
        await publisher.publish(OutboxEntry.from_event(event))
    await asyncio.wait_for(arrivals.done.wait(), 60)

    # Baseline: direct publishing with confirms.
    events = [make(n) for n in range(args.events)]
    arrivals.reset({event.id for event in events})
    started: dict[str, float] = {}
    first = time.perf_counter()
    for index, event in enumerate(events):
        await paced(index, first, args.rate)
        started[event.id] = time.perf_counter()
        await publisher.publish(OutboxEntry.from_event(event))
    await asyncio.wait_for(arrivals.done.wait(), 300)
    baseline = summarise("baseline", started, arrivals)

    # Outbox: write state + event in one insert; the relay publishes.
    outbox = Outbox()
    relay = OutboxRelay(db, ["items"], publisher, outbox, clock, poll_seconds=1.0)
    relay_task = asyncio.create_task(relay.run())
    events = [make(n) for n in range(args.events)]
    arrivals.reset({event.id for event in events})
    started = {}
    collection = db["items"]

    first = time.perf_counter()

    async def writer(offset: int, batch: list[CloudEvent]) -> None:
        for index, event in enumerate(batch):
            await paced(offset + index * args.writers, first, args.rate)
            started[event.id] = time.perf_counter()
            document = Outbox.stage_new({"_id": event.subject, "status": "recorded"}, [event])
            await collection.insert_one(document)
            outbox.written("items", event.subject)

    await asyncio.gather(*(writer(i, events[i :: args.writers]) for i in range(args.writers)))
    await asyncio.wait_for(arrivals.done.wait(), 300)
    through_outbox = summarise("outbox", started, arrivals)
    relay.stop()
    await relay_task

    print(
        f"ratio     outbox/baseline: throughput "
        f"{through_outbox['events_per_s'] / baseline['events_per_s']:.2f}x, "
        f"p50 latency {through_outbox['p50_ms'] / baseline['p50_ms']:.2f}x, "
        f"p99 latency {through_outbox['p99_ms'] / baseline['p99_ms']:.2f}x"
    )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory    peak RSS of the benchmark process (both runs): {peak_mib:.0f} MiB")

    await broker.stop()
    cleanup = await client.drop_database(settings.database_name)
    del cleanup
    await client.close()


if __name__ == "__main__":
    asyncio.run(main())
