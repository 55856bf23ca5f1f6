"""Measure how long a consumer takes to consume again after RabbitMQ is killed (kill -9) and
restarted, for a classic and a quorum queue, through the platform's own consumer runtime path
(FastStream over aio-pika's robust connection).

    .venv/bin/python -m bench.rabbitmq_recovery [--rounds 2] [--limit 240]

Needs the local infrastructure (deploy/infra.sh up): it kills and restarts RabbitMQ.
Prints one line per queue type and round: seconds from "RabbitMQ accepts connections again" to
"a message published after the restart was consumed" (or "not within LIMIT s").
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
import uuid
from pathlib import Path

from faststream.rabbit import RabbitBroker

from services.common.broker import declare_topology, make_broker, queue_for
from services.common.settings import QueueType, ServiceSettings

ROOT = Path(__file__).resolve().parents[1]


def infra(*args: str) -> None:
    subprocess.run(["bash", str(ROOT / "deploy" / "infra.sh"), *args], check=True)


async def measure(queue_type: QueueType, limit: float) -> float | None:
    settings = ServiceSettings(service_name="bench", queue_type=queue_type)
    name = f"bench.recovery.{queue_type.value}.{uuid.uuid4().hex[:6]}"
    broker: RabbitBroker = make_broker(settings)
    received: asyncio.Queue[str] = asyncio.Queue()

    @broker.subscriber(queue_for(settings, name))
    async def handle(body: str) -> None:
        await received.put(body)

    await broker.connect()
    from services.common.broker import QueueBinding

    await declare_topology(broker, settings, [QueueBinding(name, [name])])
    await broker.start()
    await broker.publish("before", queue=name, persist=True)
    assert await asyncio.wait_for(received.get(), 10) == "before"

    await asyncio.to_thread(infra, "rabbitmq-kill")
    await asyncio.to_thread(infra, "rabbitmq-start")
    restarted = time.monotonic()
    result: float | None = None
    while time.monotonic() - restarted < limit:
        try:
            await broker.publish("after", queue=name, persist=True, timeout=2)
            got = await asyncio.wait_for(received.get(), 2)
            if got == "after":
                result = time.monotonic() - restarted
                break
        except Exception:
            await asyncio.sleep(0.5)
    await broker.stop()
    cleanup = make_broker(settings)
    await cleanup.connect()
    queue = await cleanup.declare_queue(queue_for(settings, name))
    await queue.delete(if_unused=False, if_empty=False)
    await cleanup.stop()
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit", type=float, default=240.0)
    args = parser.parse_args()
    for queue_type in (QueueType.CLASSIC, QueueType.QUORUM):
        for round_ in range(1, args.rounds + 1):
            seconds = await measure(queue_type, args.limit)
            shown = f"{seconds:.1f} s" if seconds is not None else f"not within {args.limit:.0f} s"
            print(f"{queue_type.value:8} round {round_}: consuming again {shown} after restart")


if __name__ == "__main__":
    asyncio.run(main())
