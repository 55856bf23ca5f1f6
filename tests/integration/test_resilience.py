"""The broker going away: nothing stored is lost, nothing is applied twice, consumers come back.

These tests stop and kill the real RabbitMQ through `deploy/infra.sh`, so they run after every
other test (marker `disruptive`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Infra, eventually
from tests.integration.helpers import bearer, metric, tally

pytestmark = [pytest.mark.integration, pytest.mark.disruptive]

# How long a consumer may take to consume again after RabbitMQ restarts. Measured locally:
# classic queues come back in seconds; see deploy/README.md, "Queue type".
RECOVERY_BOUND_SECONDS = 90


@pytest.fixture
async def testsvc(start_service: Any, amqp: Any, infra: Infra) -> Any:
    instance = uuid.uuid4().hex[:8]
    service = start_service("tests.testsvc", TESTSVC_INSTANCE=instance)
    await service.wait_ready()
    service.tally_queue = service.queue("testsvc.tally")
    yield service
    infra.run("rabbitmq-start")  # whatever happened, leave the broker running


async def _post_note(url: str, token: str, text: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, headers=bearer(token), timeout=10) as client:
        return await client.post("/v1/notes", json={"text": text, "phone": "+962791234567"})


async def test_event_stored_while_rabbitmq_is_stopped_is_delivered_once_after_it_starts(
    testsvc: Any, infra: Infra, token_for: Any, mongo: Any, service_env: dict[str, str]
) -> None:
    token = token_for("alice")
    infra.run("rabbitmq-stop")

    response = await _post_note(testsvc.url, token, "while the broker is down")

    assert response.status_code == 201, "the API keeps accepting requests"
    notes = mongo[service_env["MONGO_DATABASE"]]["notes"]
    stored = await notes.find_one({"_id": response.json()["id"]})
    assert stored is not None and len(stored["outbox"]) == 1, "the event waits in the outbox"

    infra.run("rabbitmq-start")
    await eventually(
        lambda: _tally_is(testsvc.url, 1), timeout=RECOVERY_BOUND_SECONDS, message="delivered"
    )

    # Just restarted, the broker may confirm the publish after the consumer has applied it (it
    # confirms once the events' stream holds the message too): wait for the confirm, then make
    # sure nothing was published or applied twice.
    async def confirmed() -> bool:
        return await metric(testsvc.url, "outbox_published_total") >= 1

    await eventually(confirmed, timeout=30, message="the publish confirmed")
    await asyncio.sleep(1)
    assert await metric(testsvc.url, "outbox_published_total") == 1, "published exactly once"
    assert await tally(testsvc.url) == 1


async def test_consumer_consumes_again_after_rabbitmq_is_killed_and_nothing_stored_is_lost(
    testsvc: Any, infra: Infra, token_for: Any
) -> None:
    token = token_for("alice")
    for n in range(3):
        assert (await _post_note(testsvc.url, token, f"before {n}")).status_code == 201
    await eventually(lambda: _tally_is(testsvc.url, 3), message="first three applied")

    infra.run("rabbitmq-kill")
    for n in range(3):
        assert (await _post_note(testsvc.url, token, f"during {n}")).status_code == 201
    infra.run("rabbitmq-start")
    restarted = time.monotonic()

    await eventually(
        lambda: _tally_is(testsvc.url, 6),
        timeout=RECOVERY_BOUND_SECONDS,
        message="notes stored during the outage applied after the restart",
    )
    recovered_after = time.monotonic() - restarted

    async with httpx.AsyncClient(base_url=testsvc.url) as client:

        async def ready() -> bool:
            response = await client.get("/health/ready")
            return response.status_code == 200

        await eventually(ready, timeout=RECOVERY_BOUND_SECONDS, message="ready again")
        checks = (await client.get("/health/ready")).json()["checks"]
    assert checks["consumers"][testsvc.tally_queue] >= 1
    print(f"\nconsumer applied the outage's events {recovered_after:.1f}s after restart")
    for n in range(2):
        assert (await _post_note(testsvc.url, token, f"after {n}")).status_code == 201
    await eventually(lambda: _tally_is(testsvc.url, 8), message="new notes still consumed")


async def _tally_is(url: str, expected: int) -> bool:
    try:
        return await tally(url) == expected
    except httpx.HTTPError:
        return False
