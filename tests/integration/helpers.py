"""Small helpers the integration tests share: events of the test service, DLQ reads, metrics."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import aio_pika
import httpx
from pymongo import monitoring

from contracts import Applicant, CloudEvent, new_event
from deploy import run
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


MANAGEMENT_PORT = 15672
INFRA_ENV = run.INFRA_ENV


def port_free(port: int) -> bool:
    """Whether nothing listens on (or holds) 127.0.0.1:`port` now."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def management_api(amqp_url: str) -> str:
    """The management API (its `/api` URL) of the RabbitMQ broker `amqp_url` names.

    `RABBITMQ_MANAGEMENT_URL`, from the environment or as `deploy/infra.sh` recorded it in
    `.local/infra.env`, when it was given for this broker (the `AMQP_URL` beside it names the same
    host and port, or none is beside it): the Docker path maps the management port to one of its
    own, and an external broker may serve it anywhere. Otherwise port 15672 on the broker's host.
    """
    broker = _address(amqp_url)
    for source in (os.environ, _recorded_infra()):
        given = source.get("RABBITMQ_MANAGEMENT_URL")
        if given and _address(source.get("AMQP_URL") or amqp_url) == broker:
            return given.rstrip("/") + "/api"
    return f"http://{broker[0]}:{MANAGEMENT_PORT}/api"


def _address(amqp_url: str) -> tuple[str, int]:
    parts = urlsplit(amqp_url)
    return parts.hostname or "127.0.0.1", parts.port or 5672


def _recorded_infra() -> dict[str, str]:
    try:
        return run.infra_env(INFRA_ENV)
    except FileNotFoundError:
        return {}


def management_auth(amqp_url: str) -> tuple[str, str]:
    """The management API's user: the AMQP URL's own (RabbitMQ's users serve both)."""
    parts = urlsplit(amqp_url)
    return unquote(parts.username or "guest"), unquote(parts.password or "guest")


def open_vhost(amqp_url: str, name: str) -> str:
    """Create the RabbitMQ virtual host `name`, with every right for the URL's user, through the
    management API; return the AMQP URL into it. `httpx.HTTPError` when no management API
    answers (an external broker)."""
    auth, api = management_auth(amqp_url), management_api(amqp_url)
    everything = {"configure": ".*", "write": ".*", "read": ".*"}
    with httpx.Client(timeout=10, auth=auth) as client:
        client.put(f"{api}/vhosts/{quote(name, safe='')}").raise_for_status()
        client.put(
            f"{api}/permissions/{quote(name, safe='')}/{quote(auth[0], safe='')}", json=everything
        ).raise_for_status()
    return urlunsplit(urlsplit(amqp_url)._replace(path="/" + quote(name, safe="")))


def close_vhost(amqp_url: str, name: str) -> None:
    with httpx.Client(timeout=10, auth=management_auth(amqp_url)) as client:
        client.delete(f"{management_api(amqp_url)}/vhosts/{quote(name, safe='')}")


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
