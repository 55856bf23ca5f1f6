"""The outbox relay on the real broker and database: leases, ordering, crashes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import httpx
import pytest
from pymongo import AsyncMongoClient, monitoring

from services.common.broker import BrokerPublisher, declare_topology, make_broker
from services.common.clock import SystemClock
from services.common.outbox import (
    LEASE_OWNER_FIELD,
    LEASE_UNTIL_FIELD,
    PENDING_FIELD,
    Outbox,
    OutboxEntry,
    OutboxRelay,
)
from services.common.settings import QueueType, ServiceSettings
from tests.integration.conftest import Infra, ServiceProcess, eventually
from tests.integration.helpers import metric, note_event, tally
from tests.testsvc.app import NOTE_CREATED

pytestmark = pytest.mark.integration


@pytest.fixture
async def publisher(infra: Infra) -> AsyncIterator[BrokerPublisher]:
    settings = ServiceSettings(
        amqp_url=infra.amqp_url, service_name="testsvc", queue_type=QueueType.CLASSIC
    )
    broker = make_broker(settings)
    await broker.connect()
    await declare_topology(broker, settings, [])
    yield BrokerPublisher(broker, settings)
    await broker.stop()


@pytest.fixture
async def received(amqp: Any) -> AsyncIterator[list[aio_pika.abc.AbstractIncomingMessage]]:
    """Every note event published while the test runs, in arrival order."""
    channel = await amqp.channel()
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind("amman.events", routing_key=NOTE_CREATED)
    messages: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        messages.append(message)
        await message.ack()

    await queue.consume(keep)
    yield messages
    await channel.close()


async def test_two_relays_publish_every_event_once_and_in_order_per_document(
    mongo: Any, database_name: str, publisher: BrokerPublisher, received: list[Any]
) -> None:
    collection = mongo[database_name]["notes"]
    instance = uuid.uuid4().hex[:8]
    expected_order: dict[str, list[str]] = {}
    documents = []
    for index in range(120):
        events = [note_event(instance, text=f"{index}-{n}") for n in range(3)]
        expected_order[f"doc-{index}"] = [event.id for event in events]
        documents.append(Outbox.stage_new({"_id": f"doc-{index}"}, events))
    await collection.insert_many(documents)

    relays = [
        OutboxRelay(mongo[database_name], ["notes"], publisher, Outbox(), SystemClock())
        for _ in range(2)
    ]
    counts = await asyncio.gather(*(relay.drain() for relay in relays))

    assert sum(counts) == 360
    assert all(count > 0 for count in counts), "both relays took part"
    await eventually(lambda: _at_least(received, 360), message="all 360 events arrived")
    ids = [message.message_id for message in received]
    assert len(ids) == len(set(ids)) == 360, "no event published twice"
    position = {message_id: index for index, message_id in enumerate(ids)}
    for event_ids in expected_order.values():
        assert [position[i] for i in event_ids] == sorted(position[i] for i in event_ids)
    assert await collection.count_documents({"outbox.0": {"$exists": True}}) == 0


async def test_an_event_appended_while_the_relay_publishes_is_kept_for_the_next_round(
    mongo: Any, database_name: str, publisher: BrokerPublisher, received: list[Any]
) -> None:
    collection = mongo[database_name]["notes"]
    instance = uuid.uuid4().hex[:8]
    first, late = note_event(instance), note_event(instance)
    await collection.insert_one(Outbox.stage_new({"_id": "doc"}, [first]))

    async def append_late(entry: OutboxEntry) -> None:
        if entry.id == first.id:
            await collection.update_one({"_id": "doc"}, Outbox.stage({}, [late]))

    relay = OutboxRelay(
        mongo[database_name],
        ["notes"],
        publisher,
        Outbox(),
        SystemClock(),
        on_published=append_late,
    )
    assert await relay.drain() == 1, "the start's scan (on outbox.id) publishes what it claimed"
    flagged = await collection.find_one({"_id": "doc"})
    assert flagged is not None and flagged.get(PENDING_FIELD) is True, "the late entry's flag stays"
    assert await relay.drain() == 1, "the next round (on the flag) publishes the late entry"
    await eventually(lambda: _at_least(received, 2), message="both events arrived")
    assert [message.message_id for message in received] == [first.id, late.id]
    document = await collection.find_one({"_id": "doc"})
    assert document is not None
    assert document["outbox"] == []
    assert PENDING_FIELD not in document, "the flag leaves with the last entry"


async def test_an_event_appended_while_a_new_document_is_published_follows_it_without_a_scan(
    mongo: Any, database_name: str, publisher: BrokerPublisher, received: list[Any]
) -> None:
    """A writer appends an event while the relay publishes a new document's first one (its hint
    would find the document leased): the relay's clear sees the entry left and hints the
    document to itself, so that the next round publishes it, not the next backstop scan."""
    collection = mongo[database_name]["notes"]
    instance = uuid.uuid4().hex[:8]
    first, late = note_event(instance), note_event(instance)

    async def append_late(entry: OutboxEntry) -> None:
        if entry.id == first.id:
            # Another writer's append (no hint reaches this relay).
            await collection.update_one({"_id": "doc"}, Outbox.stage({}, [late]))

    outbox = Outbox()
    relay = OutboxRelay(
        mongo[database_name], ["notes"], publisher, outbox, SystemClock(), on_published=append_late
    )
    await outbox.insert_new(collection, {"_id": "doc", "version": 1}, [first])
    await relay.settle()
    assert outbox.take_hints() == [("notes", "doc")], "the clear hinted the document"
    outbox.written("notes", "doc")

    assert await relay.publish_hinted() == 1
    await eventually(lambda: _at_least(received, 2), message="both events arrived")
    assert [message.message_id for message in received] == [first.id, late.id]
    document = await collection.find_one({"_id": "doc"})
    assert document is not None and document["outbox"] == [] and PENDING_FIELD not in document


async def test_the_backstop_finds_flagged_documents_and_once_those_written_without_the_flag(
    mongo: Any, database_name: str, publisher: BrokerPublisher, received: list[Any]
) -> None:
    collection = mongo[database_name]["notes"]
    instance = uuid.uuid4().hex[:8]
    old, new = note_event(instance), note_event(instance)
    # Written by a version before the flag: entries, no flag.
    unflagged = Outbox.stage_new({"_id": "old"}, [old])
    del unflagged[PENDING_FIELD]
    await collection.insert_one(unflagged)
    relay = OutboxRelay(mongo[database_name], ["notes"], publisher, Outbox(), SystemClock())

    assert await relay.drain() == 1, "the relay's first scan finds entries without the flag"
    await collection.insert_one(Outbox.stage_new({"_id": "new"}, [new]))  # no hint given
    assert await relay.drain() == 1, "later scans find the flag"
    await eventually(lambda: _at_least(received, 2), message="both events arrived")
    assert [message.message_id for message in received] == [old.id, new.id]
    assert await collection.count_documents({PENDING_FIELD: True}) == 0


async def test_relay_killed_between_publish_and_removal_the_event_is_applied_once(
    start_service: Any, mongo: Any, database_name: str, amqp: Any, token_for: Any
) -> None:
    instance = uuid.uuid4().hex[:8]
    env = {"TESTSVC_INSTANCE": instance, "OUTBOX_LEASE_SECONDS": "2"}
    # The first process declares its queue, publishes the stored event, and dies right after the
    # broker confirmed it, before removing it from the outbox.
    event = note_event(instance)
    notes = mongo[database_name]["notes"]
    await notes.insert_one(Outbox.stage_new({"_id": "note-1", "version": 1}, [event]))
    crashing = start_service("tests.testsvc", TESTSVC_EXIT_AFTER_PUBLISH="true", **env)
    assert await asyncio.to_thread(crashing.wait_exit, 30) == 17
    document = await notes.find_one({"_id": "note-1"})
    assert document is not None and len(document["outbox"]) == 1, "the entry was not removed"

    # The second process publishes it again once the dead relay's lease runs out.
    survivor = start_service("tests.testsvc", **env)
    await survivor.wait_ready()
    queue = survivor.queue("testsvc.tally")

    async def republished_and_seen_twice() -> bool:
        stored = await notes.find_one({"_id": "note-1"})
        seen_again = await metric(survivor.url, "events_duplicate_total", queue=queue)
        return stored is not None and stored["outbox"] == [] and seen_again >= 1

    await eventually(republished_and_seen_twice, timeout=30, message="republished, deduped")
    assert await tally(survivor.url) == 1


async def _at_least(messages: list[Any], count: int) -> bool:
    return len(messages) >= count


# ---- inserts claimed for the relay in the same write ----------------------------------------


class _Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []
        self.inserted: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)
        if event.command_name == "insert":
            self.inserted.extend(event.command["documents"])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_an_insert_claimed_for_its_relay_is_published_without_a_claim_or_a_read(
    infra: Infra, database_name: str, publisher: BrokerPublisher, received: list[Any]
) -> None:
    """`Outbox.insert_new` with a relay attached: the insert carries the relay's lease, and the
    relay publishes from what was written at once, without its loop running, then clears: the
    insert and one update, no findAndModify and no read."""
    commands = _Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra.mongo_url, tz_aware=True, event_listeners=[commands]
    )
    try:
        db = client[database_name]
        outbox = Outbox()
        relay = OutboxRelay(db, ["notes"], publisher, outbox, SystemClock())
        events = [note_event(uuid.uuid4().hex[:8], text=f"n{n}") for n in range(2)]
        await outbox.insert_new(db["notes"], {"_id": "claimed", "version": 1}, events)
        await eventually(lambda: _at_least(received, 2), message="both events arrived")
        await relay.settle()
        [inserted] = commands.inserted
        assert inserted[LEASE_OWNER_FIELD] and inserted[LEASE_UNTIL_FIELD], "claimed in the insert"
        assert commands.names == ["insert", "update"], "the insert, then one clear"
        assert [m.message_id for m in received] == [event.id for event in events]
        document = await db["notes"].find_one({"_id": "claimed"})
        assert document is not None and document["outbox"] == []
        assert not {PENDING_FIELD, LEASE_OWNER_FIELD, LEASE_UNTIL_FIELD} & set(document)
    finally:
        await client.close()


async def test_an_insert_without_a_relay_is_left_unclaimed_for_the_services_relay(
    mongo: Any, database_name: str, publisher: BrokerPublisher, received: list[Any]
) -> None:
    """A store with no relay of its own (a command-line tool's) claims nothing: the service's
    relay publishes the document at its next scan."""
    collection = mongo[database_name]["notes"]
    event = note_event(uuid.uuid4().hex[:8])
    await Outbox().insert_new(collection, {"_id": "tool"}, [event])
    stored = await collection.find_one({"_id": "tool"})
    assert stored is not None and LEASE_OWNER_FIELD not in stored

    relay = OutboxRelay(mongo[database_name], ["notes"], publisher, Outbox(), SystemClock())
    assert await relay.drain() == 1
    await eventually(lambda: _at_least(received, 1), message="the event arrived")

    # Nor is a document of a collection the outbox's relay does not serve.
    outbox = Outbox()
    OutboxRelay(mongo[database_name], ["notes"], publisher, outbox, SystemClock())
    await outbox.insert_new(mongo[database_name]["others"], {"_id": "x"}, [note_event("i")])
    other = await mongo[database_name]["others"].find_one({"_id": "x"})
    assert other is not None and LEASE_OWNER_FIELD not in other


async def test_a_relay_stopping_gives_back_the_inserts_it_did_not_publish(
    mongo: Any, database_name: str, publisher: BrokerPublisher, received: list[Any]
) -> None:
    """An insert claimed for a relay that is stopping (a request still answered during a
    graceful stop) is not published by it: its lease is given back, so that the next relay
    publishes it at once rather than after the lease."""
    collection = mongo[database_name]["notes"]
    outbox = Outbox()
    stopping = OutboxRelay(mongo[database_name], ["notes"], publisher, outbox, SystemClock())
    event = note_event(uuid.uuid4().hex[:8])
    stopping.stop()
    await outbox.insert_new(collection, {"_id": "late"}, [event])
    await asyncio.wait_for(stopping.run(), 10)
    stored = await collection.find_one({"_id": "late"})
    assert stored is not None and stored[PENDING_FIELD] is True and len(stored["outbox"]) == 1
    assert LEASE_OWNER_FIELD not in stored, "the lease was given back"

    successor = OutboxRelay(mongo[database_name], ["notes"], publisher, Outbox(), SystemClock())
    assert await successor.drain() == 1
    await eventually(lambda: _at_least(received, 1), message="the event arrived")
    assert [m.message_id for m in received] == [event.id]


async def test_a_process_killed_after_a_claimed_insert_has_its_event_published_once_after_the_lease(
    start_service: Any, mongo: Any, database_name: str, token_for: Any
) -> None:
    """Killed right after the note's insert (which claimed it for the dead relay), before the
    relay's clear (its publish may have left): the next process publishes the event once the
    lease has run out, and the note is applied exactly once."""
    instance = uuid.uuid4().hex[:8]
    env = {"TESTSVC_INSTANCE": instance, "OUTBOX_LEASE_SECONDS": "2"}
    crashing: ServiceProcess = start_service(
        "tests.testsvc", TESTSVC_EXIT_AFTER_STORE="true", **env
    )
    await crashing.wait_ready()
    headers = {"Authorization": f"Bearer {token_for('alice')}"}
    async with httpx.AsyncClient(base_url=crashing.url, headers=headers) as client:
        with pytest.raises(httpx.TransportError):
            await client.post(
                "/v1/notes", json={"text": "claimed, then killed", "phone": "+962791234567"}
            )
    assert await asyncio.to_thread(crashing.wait_exit, 30) == 18
    notes = mongo[database_name]["notes"]
    [stored] = await notes.find({}).to_list()
    assert len(stored["outbox"]) == 1 and stored[LEASE_OWNER_FIELD], "stored, claimed, unpublished"

    survivor = start_service("tests.testsvc", **env)
    await survivor.wait_ready()

    async def published() -> bool:
        document = await notes.find_one({"_id": stored["_id"]})
        return document is not None and document["outbox"] == [] and await tally(survivor.url) == 1

    await eventually(published, timeout=30, message="published after the lease")
    await asyncio.sleep(1)
    assert await tally(survivor.url) == 1
