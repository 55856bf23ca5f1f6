"""The transactional outbox, without multi-document transactions.

A state change and the events it produces are written in ONE document update: the events go into
the aggregate's `outbox` array. The relay finds documents with entries,
claims one with a lease (so several replicas never publish the same document at once), publishes
its events in array order with publisher confirms, and removes exactly the entries it published.
Nothing is published before it is stored; nothing stored is lost while the broker is down.

Entries hold the CloudEvent as its JSON text, so what is published is byte for byte what was stored,
and only flat strings sit in the array (FerretDB v1 matches `$pullAll` on whole elements only).

A new document is inserted already claimed for this process's relay (`Outbox.insert_new`: the
lease is in the insert, as nobody else can hold a document that did not exist), and the relay
publishes its first events from what was written, with no claim and no read: one database command
less per new aggregate, and one round trip less before its first event leaves. That publish starts
in a task of its own as soon as the insert returns, ahead of whatever the writer does next (an HTTP
answer to build, a consumer's next write), so the event does not wait for the relay's loop.

The relay is woken right after a write (`Outbox.written()`) and polls as a backstop. A document
with entries also carries `outbox_pending: true` (set by `stage`/`stage_new`, removed with the last
entry), so that the backstop's query is an equality on an indexed field: a database serves it from
the index, whatever the collection holds (on FerretDB, a filter on `outbox.id` reads the whole
collection).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from prometheus_client import Counter, Gauge
from pymongo import ReturnDocument

from contracts import CloudEvent, ContractModel, new_event
from services.common.change import StaleVersion
from services.common.clock import Clock
from services.common.mongo import Collection, Database, Document, IndexSpec, purpose
from services.common.telemetry import current_traceparent

logger = logging.getLogger(__name__)

OUTBOX_FIELD = "outbox"
# A document has something to publish while this path exists (an entry's id).
PENDING_PATH = "outbox.id"
# ...and this flag is true (what the backstop scan looks for; see the module's docstring).
PENDING_FIELD = "outbox_pending"
LEASE_UNTIL_FIELD = "outbox_lease_until"
LEASE_OWNER_FIELD = "outbox_lease_owner"

PUBLISHED = Counter(
    "outbox_published_total", "Events published by the outbox relay", ["collection"]
)
PUBLISH_FAILURES = Counter(
    "outbox_publish_failures_total", "Outbox publish attempts that failed", ["collection"]
)
OLDEST_AGE = Gauge(
    "outbox_oldest_entry_age_seconds",
    "Age of the oldest unpublished event found by the relay's last scan (0: none waiting)",
    ["collection"],
)


@dataclass(frozen=True)
class OutboxEntry:
    id: str
    routing_key: str
    body: str
    time: str
    traceparent: str | None

    @classmethod
    def from_event(cls, event: CloudEvent) -> OutboxEntry:
        return cls(
            id=event.id,
            routing_key=event.routing_key,
            body=event.to_json().decode(),
            time=event.time.isoformat(),
            traceparent=event.traceparent,
        )

    @classmethod
    def from_document(cls, raw: Document) -> OutboxEntry:
        return cls(
            id=raw["id"],
            routing_key=raw["routing_key"],
            body=raw["body"],
            time=raw["time"],
            traceparent=raw.get("traceparent"),
        )

    def to_document(self) -> Document:
        raw: Document = {
            "id": self.id,
            "routing_key": self.routing_key,
            "body": self.body,
            "time": self.time,
        }
        if self.traceparent:
            raw["traceparent"] = self.traceparent
        return raw


class EventPublisher(Protocol):
    async def publish(self, entry: OutboxEntry) -> None:
        """Publish one stored event and return only once the broker confirmed it."""
        ...


class RaisedEvent(Protocol):
    """An event a domain change raised, as a record: its routing key and its contract data."""

    @property
    def routing_key(self) -> str: ...

    @property
    def data(self) -> ContractModel: ...


def new_events(
    events: Iterable[tuple[str, ContractModel] | RaisedEvent],
    *,
    source_service: str,
    subject: str,
    time: datetime,
) -> list[CloudEvent]:
    """The envelopes of the events one change raised, in order, ready for `Outbox.stage`.

    Each event is a `(routing_key, data)` pair or a record with those two attributes (a domain's
    `Raised`). All get the same subject (the request or aggregate they are about), the same time
    (the change's) and the current trace context (`telemetry.current_traceparent()`)."""
    traceparent = current_traceparent()
    envelopes = []
    for event in events:
        key, data = event if isinstance(event, tuple) else (event.routing_key, event.data)
        envelopes.append(
            new_event(
                key,
                data,
                source_service=source_service,
                subject=subject,
                time=time,
                traceparent=traceparent,
            )
        )
    return envelopes


def outbox_indexes(collections: Iterable[str]) -> list[IndexSpec]:
    # Sparse: only documents with something to publish are in the index, however large the
    # collection grows.
    return [
        IndexSpec(name, [(PENDING_FIELD, 1)], sparse=True, name="outbox_pending")
        for name in collections
    ]


async def release_claimed(
    collection: Collection,
    mine: Document,
    *,
    array: str,
    pending: str,
    lease: tuple[str, str],
    done: list[Document],
    claimed: int,
) -> bool:
    """Give back a document claimed under a lease (`mine`: its `_id` and this owner), with the
    entries of `array` that were handled (`done`) removed: the outbox relay's published events,
    the document issuer's issued documents. Return whether the array was emptied.

    Everything claimed was handled: empty the array and drop the `pending` flag, in one write
    that holds only if no writer appended an entry meanwhile (the array's size). Otherwise remove
    exactly what was handled, whole elements (a writer may have appended more, and those stay,
    and so does the flag)."""
    unlease = dict.fromkeys(lease, "")
    if done and len(done) == claimed:
        emptied = await collection.update_one(
            {**mine, array: {"$size": claimed}},
            {"$set": {array: []}, "$unset": {**unlease, pending: ""}},
        )
        if emptied.matched_count == 1:
            return True
    update: dict[str, Any] = {"$unset": unlease}
    if done:
        update["$pullAll"] = {array: done}
    await collection.update_one(mine, update)
    return False


class Hints:
    """How a writer wakes a loop that works on what it wrote (the outbox relay, the document
    issuer): `written(collection, id)` after the write; the loop takes the hints and waits for
    the next one, or for its poll's timeout. A hint lost in a crash is no loss: the loop's
    periodic scan finds the document anyway."""

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._hints: list[tuple[str, Any]] = []

    def written(self, collection: str | None = None, document_id: Any = None) -> None:
        """Tell the loop there is something new, and where if known: it takes that document by
        `_id` at once."""
        if collection is not None:
            self._hints.append((collection, document_id))
        self._wake.set()

    def take_hints(self) -> list[tuple[str, Any]]:
        hints, self._hints = self._hints, []
        return hints

    async def wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        self._wake.clear()


# A document inserted with its first events is claimed for this process's relay in the insert
# itself (`Outbox.insert_new`) for at most this long: a crash before the publish delays those
# events by the lease, after which any relay's backstop scan publishes them.
INSERT_LEASE_SECONDS = 5.0


# An entry handed to the channel: as stored, as read, and its publish (`OutboxRelay._hand_over`).
Handed = tuple[Document, "OutboxEntry", "asyncio.Future[None]"]


@dataclass(frozen=True)
class Claimed:
    """Events a writer inserted already claimed for the relay: published from here, without
    reading or claiming the document, then cleared under `owner`."""

    collection: str
    document_id: Any
    entries: list[Document]
    owner: str


class Outbox(Hints):
    """What a store uses to put events into its updates, and to wake the relay after writing
    (`written`, from `Hints`)."""

    def __init__(self) -> None:
        super().__init__()
        self._owner = uuid.uuid4().hex
        self._claims: tuple[Clock, timedelta] | None = None
        self._served: dict[str, Callable[[Claimed], None]] = {}

    def claim_inserts(
        self,
        clock: Clock,
        lease_seconds: float,
        collections: Iterable[str],
        publish: Callable[[Claimed], None],
    ) -> None:
        """Called by a relay that publishes this outbox's `collections`: from now on
        `insert_new` claims a new document of those for it in the same write, and hands the
        claimed events to `publish` (which starts publishing them at once) right after the
        insert. A store without a relay, such as a command-line tool's, leaves its documents to
        the service's relay."""
        self._claims = (clock, timedelta(seconds=min(lease_seconds, INSERT_LEASE_SECONDS)))
        self._served.update(dict.fromkeys(collections, publish))

    async def insert_new(
        self, collection: Collection, document: Document, events: Sequence[CloudEvent]
    ) -> None:
        """Insert a new document carrying its first events (`stage_new`), and wake the relay.

        With a relay attached (`claim_inserts`) the insert also takes the relay's lease, so the
        relay publishes the events at once from what was written, with no claim of its own:
        nobody else can hold a document that did not exist. `DuplicateKeyError` as from
        `insert_one`; nothing is claimed then."""
        staged = self.stage_new(document, events)
        publish = self._served.get(collection.name)
        if events and self._claims is not None and publish is not None:
            clock, lease = self._claims
            staged[LEASE_UNTIL_FIELD] = clock.now() + lease
            staged[LEASE_OWNER_FIELD] = self._owner
            await collection.insert_one(staged)
            entries = list(staged[OUTBOX_FIELD])
            publish(Claimed(collection.name, staged["_id"], entries, self._owner))
            # Two turns of the event loop before this task goes on: the publishes' first steps
            # (the first event handed to the connection), then the connection's writer (it puts
            # it on the wire). Otherwise both would wait for this task's next await.
            for _ in range(2):
                await asyncio.sleep(0)
            return
        await collection.insert_one(staged)
        if events:
            self.written(collection.name, staged["_id"])

    @staticmethod
    def stage(update: dict[str, Any], events: Sequence[CloudEvent]) -> dict[str, Any]:
        """Return `update` with the events appended to the document's outbox, in order."""
        if not events:
            return update
        staged = {key: dict(value) for key, value in update.items()}
        entries = [OutboxEntry.from_event(event).to_document() for event in events]
        staged.setdefault("$push", {})[OUTBOX_FIELD] = {"$each": entries}
        staged.setdefault("$set", {})[PENDING_FIELD] = True
        return staged

    @staticmethod
    def stage_new(document: Document, events: Sequence[CloudEvent]) -> Document:
        """Return a new document to insert, carrying its first events."""
        staged = dict(document)
        staged[OUTBOX_FIELD] = [OutboxEntry.from_event(event).to_document() for event in events]
        if events:
            staged[PENDING_FIELD] = True
        return staged

    async def save_versioned(
        self,
        collection: Collection,
        key: Any,
        version: int,
        update: dict[str, Any],
        events: Sequence[CloudEvent] = (),
    ) -> int:
        """The versioned save every store uses: apply `update` (a MongoDB update document) to
        the document `key` only if it is still at `version`, with `events` staged in its outbox
        in the same write, and set the version to the next one, which is returned.

        `StaleVersion` if the document is at another version (or gone): the caller lost a race
        (see `services.common.change`). The relay is woken when there are events."""
        staged = self.stage(update, events) if events else {k: dict(v) for k, v in update.items()}
        staged.setdefault("$set", {})["version"] = version + 1
        result = await collection.update_one({"_id": key, "version": version}, staged)
        if result.matched_count != 1:
            raise StaleVersion(str(key))
        if events:
            self.written(collection.name, key)
        return version + 1


class OutboxRelay:
    """Publishes pending outbox entries from the given collections. Safe with several replicas."""

    def __init__(
        self,
        db: Database,
        collections: Sequence[str],
        publisher: EventPublisher,
        outbox: Outbox,
        clock: Clock,
        *,
        poll_seconds: float = 1.0,
        lease_seconds: float = 30.0,
        concurrency: int = 8,
        on_published: Callable[[OutboxEntry], Awaitable[None]] | None = None,
    ) -> None:
        self._collections = [db[name] for name in collections]
        self._publisher = publisher
        self._outbox = outbox
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._lease = timedelta(seconds=lease_seconds)
        # A hook after each confirmed publish, before the entry is removed: for instrumentation,
        # and for the test that kills the relay exactly there.
        self._on_published = on_published
        self._owner = uuid.uuid4().hex
        self._by_name = {collection.name: collection for collection in self._collections}
        # One limit on the documents in flight, whichever path publishes them.
        self._slots = asyncio.Semaphore(concurrency)
        # The claimed inserts being published, each in its own task (`_start`).
        self._in_flight: set[asyncio.Task[int]] = set()
        self._started = 0
        outbox.claim_inserts(clock, lease_seconds, collections, self._start)
        self._stopping = asyncio.Event()
        self._failures = 0
        self._last_scan = float("-inf")
        # The first scan also looks for entries without the flag (written by an older version).
        self._scanned_once = False

    async def run(self) -> None:
        logger.info("outbox relay started", extra={"collections": self._names()})
        while not self._stopping.is_set():
            try:
                hinted = await self.publish_hinted()
                # The scan for pending documents is the backstop (crashed writers, other
                # replicas' writes, failed publishes). While writes keep arriving (hints, and
                # the inserts published at once since the last round) it runs only every few
                # polls.
                busy = hinted or self._started
                self._started = 0
                since_scan = time.monotonic() - self._last_scan
                if since_scan >= self._poll_seconds * (10 if busy else 1):
                    self._last_scan = time.monotonic()
                    await self.drain()
                self._failures = 0
                await self._outbox.wait(self._poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._failures += 1
                # The broker or the database is away: back off, then try again from the stored
                # entries, which are still there.
                delay = min(0.2 * 2**self._failures, 5.0)
                logger.warning(
                    "outbox relay cannot publish; retrying in %.1fs", delay, exc_info=True
                )
                await self._sleep(delay)
        await self.settle()
        logger.info("outbox relay stopped")

    async def settle(self) -> None:
        """Wait for the claimed inserts in flight: each finishes its publish and clear, or, once
        the relay is stopping, gives its lease back."""
        await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _start(self, item: Claimed) -> None:
        """Publish an insert claimed for this relay (`Outbox.insert_new`) at once: its events
        are handed to the channel here, and a task of its own awaits their confirms and clears
        them. (Outside the relay's limit on documents in flight: these are bounded by the
        writes in flight.) Once the relay is stopping, the task gives the lease back instead, so
        that the next relay's scan publishes it at once (a crash leaves the lease to expire)."""
        self._started += 1
        collection = self._by_name[item.collection]
        work: Awaitable[int | None]
        if self._stopping.is_set():
            work = self._give_back(collection, item)
        else:
            document = {"_id": item.document_id, OUTBOX_FIELD: item.entries}
            handed = self._hand_over(item.entries)
            work = self._publish_document(collection, document, item.owner, handed)
        task = asyncio.create_task(self._publish_claimed(work))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _publish_claimed(self, work: Awaitable[int | None]) -> int:
        try:
            return await work or 0
        except Exception:
            # Whatever was not published is still stored: the backstop scan publishes it once
            # its lease is given back or has run out.
            logger.warning("outbox relay cannot publish a new document's events", exc_info=True)
            return 0

    async def _give_back(self, collection: Collection, item: Claimed) -> None:
        """An insert claimed for this relay, not published: its lease goes, its entries stay."""
        await self._release(collection, item.document_id, [], 0, item.owner)

    def stop(self) -> None:
        self._stopping.set()
        self._outbox.written()

    async def publish_hinted(self) -> int:
        """Publish the documents writers named in `Outbox.written`; return how many events."""
        targets = [
            (self._by_name[name], document_id)
            for name, document_id in dict.fromkeys(self._outbox.take_hints())
            if name in self._by_name
        ]
        return await self._publish_all(targets)

    async def drain(self, batch: int = 1000) -> int:
        """Publish what is pending now (up to `batch` documents per collection); return how many
        events were published.

        One query lists the pending documents (an equality on the indexed `outbox_pending`),
        then each is claimed by `_id`. The relay's first scan looks for `outbox.id` instead,
        which reads the whole collection on FerretDB, once: documents an older version wrote
        without the flag are published too.
        """
        query = {PENDING_FIELD: True} if self._scanned_once else {PENDING_PATH: {"$exists": True}}
        targets: list[tuple[Collection, Any]] = []
        now = self._clock.now()
        with purpose("outbox.scan"):
            for collection in self._collections:
                cursor = collection.find(query, {"_id": 1, f"{OUTBOX_FIELD}.time": 1}).limit(batch)
                oldest = 0.0
                async for document in cursor:
                    targets.append((collection, document["_id"]))
                    oldest = max(oldest, _oldest_age(document, now))
                OLDEST_AGE.labels(collection.name).set(oldest)
        self._scanned_once = True
        return await self._publish_all(targets)

    async def _publish_all(self, targets: list[tuple[Collection, Any]]) -> int:
        """Publish each target document, claimed here first by `_id`. Documents are
        independent: several in flight at once (each one's entries stay in order), so a publish
        confirm and a database write overlap."""

        async def one(collection: Collection, document_id: Any) -> int:
            async with self._slots:
                if self._stopping.is_set():
                    return 0
                document = await self._claim(collection, document_id)
                if document is None:
                    return 0
                return await self._publish_document(collection, document, self._owner)

        counts = await asyncio.gather(*(one(c, i) for c, i in targets))
        return sum(counts)

    async def _claim(self, collection: Collection, document_id: Any) -> Document | None:
        now = self._clock.now()
        with purpose("outbox.claim"):
            return await collection.find_one_and_update(
                {
                    "_id": document_id,
                    PENDING_PATH: {"$exists": True},
                    "$or": [{LEASE_UNTIL_FIELD: None}, {LEASE_UNTIL_FIELD: {"$lte": now}}],
                },
                {"$set": {LEASE_UNTIL_FIELD: now + self._lease, LEASE_OWNER_FIELD: self._owner}},
                return_document=ReturnDocument.AFTER,
            )

    def _hand_over(self, raw_entries: list[Document]) -> list[Handed]:
        """Start publishing a document's entries, in order, without waiting for any confirm:
        each publish is a task, and tasks take their first step in the order they were made, in
        which each reaches the channel's lock (first come, first served) and the channel
        writes them in that order; the broker keeps a channel's order."""
        handed: list[Handed] = []
        for raw in raw_entries:
            entry = OutboxEntry.from_document(raw)
            handed.append((raw, entry, asyncio.ensure_future(self._publisher.publish(entry))))
        return handed

    async def _publish_document(
        self,
        collection: Collection,
        document: Document,
        owner: str,
        handed: list[Handed] | None = None,
    ) -> int:
        """Publish a document's entries (or await those already `handed` over), then clear
        them. The confirms are awaited in order, and only the confirmed prefix is cleared: after
        a failure, the next round publishes again from the first unconfirmed entry on, in
        order."""
        raw_entries: list[Document] = list(document.get(OUTBOX_FIELD) or [])
        done: list[Document] = []
        publishes: list[asyncio.Future[None]] = []
        try:
            if handed is None:
                handed = self._hand_over(raw_entries)
            publishes = [publish for _, _, publish in handed]
            for raw, entry, publish in handed:
                try:
                    await publish
                except Exception:
                    PUBLISH_FAILURES.labels(collection.name).inc()
                    raise
                PUBLISHED.labels(collection.name).inc()
                if self._on_published is not None:
                    await self._on_published(entry)
                done.append(raw)
        finally:
            for publish in publishes:
                publish.cancel()
            await asyncio.gather(*publishes, return_exceptions=True)
            with purpose("outbox.clear"):
                emptied = await self._release(
                    collection, document["_id"], done, len(raw_entries), owner
                )
        if not emptied:
            # A writer appended events while these were published (its hint found the document
            # leased): publish those now rather than at the next scan.
            self._outbox.written(collection.name, document["_id"])
        return len(done)

    async def _release(
        self, collection: Collection, doc_id: Any, done: list[Document], claimed: int, owner: str
    ) -> bool:
        return await release_claimed(
            collection,
            {"_id": doc_id, LEASE_OWNER_FIELD: owner},
            array=OUTBOX_FIELD,
            pending=PENDING_FIELD,
            lease=(LEASE_UNTIL_FIELD, LEASE_OWNER_FIELD),
            done=done,
            claimed=claimed,
        )

    def _names(self) -> list[str]:
        return [collection.name for collection in self._collections]

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass


def _oldest_age(document: Document, now: datetime) -> float:
    """Seconds since the oldest entry of a document's outbox was written."""
    ages = [0.0]
    for entry in document.get(OUTBOX_FIELD) or []:
        try:
            ages.append((now - datetime.fromisoformat(entry["time"])).total_seconds())
        except (KeyError, TypeError, ValueError):
            continue
    return max(ages)
