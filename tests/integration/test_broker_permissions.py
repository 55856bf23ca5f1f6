"""The production RabbitMQ permissions (deploy/k8s/production.py) on the real broker.

Each of the seven services starts under a user that has exactly the configure/write/read patterns
the production overlay gives it (in a virtual host of the test's own), declares its topology and
consumes: so the patterns are enough. Then a service may not read another's queue, and the outside
subscriber's user may bind its own queue to amman.events but neither publish there nor touch
amman.commands: so they are no more than needed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import aiormq
import httpx
import pytest

from deploy.k8s import production
from tests.integration.helpers import management_api, management_auth

pytestmark = pytest.mark.integration


class Broker:
    """Users and a virtual host made through the management API, removed at the end."""

    def __init__(self, amqp_url: str, vhost: str) -> None:
        self.amqp_url = amqp_url
        self.vhost = vhost
        self.admin = management_auth(amqp_url)
        self.api = management_api(amqp_url)
        self.users: list[str] = []

    def url_for(self, user: str, password: str) -> str:
        parts = urlsplit(self.amqp_url)
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc, path="/" + quote(self.vhost, safe="")))

    async def user(
        self, name: str, permissions: dict[str, str], topic: dict[str, str] | None = None
    ) -> str:
        password = uuid.uuid4().hex
        async with httpx.AsyncClient(timeout=5, auth=self.admin) as client:
            user = await client.put(
                f"{self.api}/users/{quote(name, safe='')}",
                json={"password": password, "tags": ""},
            )
            user.raise_for_status()
            self.users.append(name)
            granted = await client.put(
                f"{self.api}/permissions/{quote(self.vhost, safe='')}/{quote(name, safe='')}",
                json=permissions,
            )
            granted.raise_for_status()
            if topic is not None:
                topical = await client.put(
                    f"{self.api}/topic-permissions/{quote(self.vhost, safe='')}/"
                    f"{quote(name, safe='')}",
                    json=topic,
                )
                topical.raise_for_status()
        return self.url_for(name, password)


@pytest.fixture
async def broker(infra: Any) -> AsyncIterator[Broker]:
    vhost = f"t_perm_{uuid.uuid4().hex[:8]}"
    made = Broker(infra.amqp_url, vhost)
    async with httpx.AsyncClient(timeout=5, auth=made.admin) as client:
        try:
            (await client.put(f"{made.api}/vhosts/{vhost}")).raise_for_status()
        except httpx.HTTPError as error:
            pytest.fail(f"this test needs RabbitMQ's management API: {error}", pytrace=False)
    yield made
    async with httpx.AsyncClient(timeout=5, auth=made.admin) as client:
        await client.delete(f"{made.api}/vhosts/{vhost}")
        for name in made.users:
            await client.delete(f"{made.api}/users/{quote(name, safe='')}")


async def _refused(action: Any) -> bool:
    try:
        await action
    except aiormq.exceptions.ChannelAccessRefused:
        return True
    return False


async def test_every_service_runs_on_its_production_permissions_and_no_more(
    broker: Broker, start_service: Any
) -> None:
    suffix = uuid.uuid4().hex[:6]
    urls = {
        profile.name: await broker.user(f"{profile.name}-{suffix}", profile.permissions())
        for profile in production.PROFILES
    }
    services = {
        name: start_service(f"services.{name}", AMQP_URL=url, QUEUE_SUFFIX="")
        for name, url in urls.items()
    }
    await asyncio.gather(*(service.wait_ready(timeout=60) for service in services.values()))

    # Each consuming queue exists and has its consumer: the declarations and the consume worked.
    exams = await aio_pika.connect(urls["exams"])
    try:
        channel = await exams.channel()
        own = await channel.declare_queue("exams.payments", passive=True)
        assert own.declaration_result.consumer_count == 1
        # Another service's queue: not readable, not even to look at its messages.
        other = await exams.channel()
        notifier_queue = await other.declare_queue("notifier.events", passive=True)
        assert await _refused(notifier_queue.get(fail=False))
        # Exams sends no command: amman.commands is not writable for it.
        commands = await (await exams.channel()).get_exchange("amman.commands", ensure=False)
        assert await _refused(
            _publish_confirmed(commands, "notifier.send-sms")  # refused on the confirm
        )
    finally:
        await exams.close()

    # The outside subscriber: its own queue on amman.events, nothing else.
    subscriber = await broker.user(
        f"subscriber.example-{suffix}",
        {
            "configure": "^subscriber\\.example\\..+$",
            "write": "^subscriber\\.example\\..+$",
            "read": "^(amman\\.events|amman\\.events\\.history|subscriber\\.example\\..+)$",
        },
        topic={"exchange": "amman.events", "write": "^$", "read": ".*"},
    )
    outside = await aio_pika.connect(subscriber)
    try:
        channel = await outside.channel()
        queue = await channel.declare_queue(f"subscriber.example.{suffix}", auto_delete=True)
        await queue.bind("amman.events", routing_key="payments.bill.paid.v1")
        assert await _refused(queue.bind("amman.commands", routing_key="notifier.send-sms"))
        events = await (await outside.channel()).get_exchange("amman.events", ensure=False)
        assert await _refused(_publish_confirmed(events, "payments.bill.paid.v1"))
        spy = await (await outside.channel()).declare_queue("exams.payments", passive=True)
        assert await _refused(spy.get(fail=False))
    finally:
        await outside.close()


async def _publish_confirmed(exchange: aio_pika.abc.AbstractExchange, key: str) -> None:
    """Publish with the confirm awaited: a refused publish closes the channel with 403."""
    await exchange.publish(aio_pika.Message(b"{}"), routing_key=key, timeout=5)
