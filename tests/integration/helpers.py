"""Small helpers the integration tests share: events of the test service, DLQ reads, metrics."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import httpx
from pymongo import monitoring

from contracts import Applicant, CloudEvent, new_event
from tests.testsvc.app import NOTE_CREATED, TEST_REGISTRY, NoteCreated


def note_event(instance: str, text: str = "hello", note_id: str | None = None) -> CloudEvent:
    note_id = note_id or uuid.uuid4().hex
    return new_event(
        NOTE_CREATED,
        NoteCreated(
            note_id=note_id,
            instance=instance,
            text=text,
            applicant=Applicant(name="Test", phone="+962791234567"),
        ),
        source_service="testsvc",
        subject=note_id,
        time=datetime.now(UTC),
        registry=TEST_REGISTRY,
    )


async def publish_raw(
    connection: aio_pika.abc.AbstractRobustConnection,
    body: bytes,
    routing_key: str = NOTE_CREATED,
    message_id: str | None = None,
) -> None:
    channel = await connection.channel()
    try:
        exchange = await channel.get_exchange("amman.events")
        await exchange.publish(
            aio_pika.Message(
                body,
                message_id=message_id or uuid.uuid4().hex,
                content_type="application/cloudevents+json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
        )
    finally:
        await channel.close()


async def dead_letters(
    connection: aio_pika.abc.AbstractRobustConnection, queue: str
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Take every message now in `<queue>.dlq`."""
    channel = await connection.channel()
    taken: list[aio_pika.abc.AbstractIncomingMessage] = []
    try:
        dlq = await channel.declare_queue(f"{queue}.dlq", passive=True)
        while (message := await dlq.get(no_ack=True, fail=False)) is not None:
            taken.append(message)
    finally:
        await channel.close()
    return taken


async def delete_queues(connection: aio_pika.abc.AbstractRobustConnection, *names: str) -> None:
    channel = await connection.channel()
    try:
        for name in names:
            await channel.queue_delete(name)
    finally:
        await channel.close()


async def metric(base_url: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample from a service's /metrics (0 when absent)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        text = (await client.get("/metrics")).text
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})? ([0-9.e+-]+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            total += float(match.group(2))
    return total


async def tally(base_url: str) -> int:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        response = await client.get("/v1/tally")
        response.raise_for_status()
        count: int = response.json()["count"]
        return count


def bearer(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}


MANAGEMENT_API = "http://127.0.0.1:15672/api"


def _management_auth(amqp_url: str) -> tuple[str, str]:
    parts = urlsplit(amqp_url)
    return parts.username or "guest", parts.password or "guest"


def open_vhost(amqp_url: str, name: str) -> str:
    """Create the RabbitMQ virtual host `name`, with every right for the URL's user, through the
    management API; return the AMQP URL into it. `httpx.HTTPError` when no management API
    answers (an external broker)."""
    auth = _management_auth(amqp_url)
    everything = {"configure": ".*", "write": ".*", "read": ".*"}
    with httpx.Client(timeout=10, auth=auth) as client:
        client.put(f"{MANAGEMENT_API}/vhosts/{name}").raise_for_status()
        client.put(
            f"{MANAGEMENT_API}/permissions/{name}/{auth[0]}", json=everything
        ).raise_for_status()
    return urlunsplit(urlsplit(amqp_url)._replace(path="/" + quote(name, safe="")))


def close_vhost(amqp_url: str, name: str) -> None:
    with httpx.Client(timeout=10, auth=_management_auth(amqp_url)) as client:
        client.delete(f"{MANAGEMENT_API}/vhosts/{name}")


async def create_vhost(amqp_url: str, name: str) -> str | None:
    """A RabbitMQ virtual host of its own for one test or suite; returns the AMQP URL into it.

    Services of suites running at once on one broker (two developers, or a developer and CI)
    would otherwise consume each other's events: a payments process would bill another suite's
    requests. Returns None when no management API answers (an external broker): the caller stays
    on the shared virtual host, isolated by its queue suffix only.
    """
    try:
        return await asyncio.to_thread(open_vhost, amqp_url, name)
    except httpx.HTTPError:
        return None


async def delete_vhost(amqp_url: str, name: str) -> None:
    await asyncio.to_thread(close_vhost, amqp_url, name)


class CommandNames(monitoring.CommandListener):
    """PyMongo's command monitoring: the names of the commands a client sent, in order (pass it
    as `event_listeners=[...]`)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
