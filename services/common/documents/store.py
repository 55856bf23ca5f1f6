"""Documents issued exactly once: staged in the aggregate's write, done by the issuer loop.

A change that issues (or revokes) a document stages a `Due` entry in the same single-document
write that changes the aggregate (`stage_documents`, beside `Outbox.stage`), so the two cannot
part. The `DocumentIssuer` loop finds aggregates with entries (`documents_pending: true`, an
indexed equality, as the outbox relay does), claims one with a lease, and for each entry in order:

1. the record whose `_id` is the entry's id exists: it was done (go to 5);
2. render the PDF (a worker thread) and take its SHA-256;
3. store it in the GridFS bucket `documents` under the entry's id (a leftover of a crashed attempt
   under that id is deleted first, so a crash never leaves two files);
4. insert the record into `documents`, with the `<service>.document.issued.v1` event in its outbox
   (same write); the unique index on (kind, number, version) refuses a second version 1;
5. mark the earlier versions of that kind and number `replaced`;
6. remove the entry from the aggregate (the flag goes with the last one).

A crash anywhere repeats from the first step not done; nothing is issued twice. A `revoke` entry
moves the current version to `revoked` with its event, in one write guarded by the state.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from prometheus_client import Counter, Histogram
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from contracts import LocalizedText, new_event
from contracts.documents import DocumentIssued, DocumentRevoked
from contracts.registry import EventRegistry
from services.common.clock import Clock
from services.common.documents.model import DocumentKind, Due, State, mask_name, state_of
from services.common.documents.render import Content, render_pdf
from services.common.mongo import Collection, Database, Document, IndexSpec, purpose
from services.common.outbox import Hints, Outbox, release_claimed

logger = logging.getLogger(__name__)

DOCUMENTS = "documents"
BUCKET = "documents"
DUE_FIELD = "documents_due"
DUE_PENDING = "documents_pending"
DUE_LEASE_UNTIL = "documents_lease_until"
DUE_LEASE_OWNER = "documents_lease_owner"

ISSUED = Counter("documents_issued_total", "Documents issued (a new version)", ["kind"])
REVOKED = Counter("documents_revoked_total", "Documents revoked", ["kind"])
FAILURES = Counter(
    "documents_issue_failures_total",
    "Attempts at an aggregate's documents that failed (retried at the next poll)",
    ["collection"],
)
RENDER_SECONDS = Histogram(
    "documents_render_seconds", "Time to render one document's PDF", ["kind"]
)

# A test hook: called after each step of an issue ("rendered", "stored", "recorded").
StepHook = Callable[[str, Due], Awaitable[None]]


def stage_documents(update: dict[str, Any], dues: Sequence[Due]) -> dict[str, Any]:
    """Return the Mongo `update` with the documents asked for appended to the aggregate's
    `documents_due`, in order (the issuer does them after the write)."""
    if not dues:
        return update
    staged = {key: dict(value) for key, value in update.items()}
    staged.setdefault("$push", {})[DUE_FIELD] = {"$each": [due.to_entry() for due in dues]}
    staged.setdefault("$set", {})[DUE_PENDING] = True
    return staged


def stage_new_documents(document: Document, dues: Sequence[Due]) -> Document:
    """Return a new aggregate to insert, carrying the documents it asks for."""
    staged = dict(document)
    if dues:
        staged[DUE_FIELD] = [due.to_entry() for due in dues]
        staged[DUE_PENDING] = True
    return staged


def due_indexes(collections: Sequence[str]) -> list[IndexSpec]:
    return [
        IndexSpec(name, [(DUE_PENDING, 1)], sparse=True, name="documents_pending")
        for name in collections
    ]


INDEXES = [
    IndexSpec(
        DOCUMENTS,
        [("kind", 1), ("number", 1), ("version", 1)],
        unique=True,
        name="kind_number_version",
    ),
    IndexSpec(DOCUMENTS, [("verification_id", 1)], unique=True, name="verification_id"),
    IndexSpec(DOCUMENTS, [("owner", 1)], name="owner"),
    IndexSpec(DOCUMENTS, [("number", 1)], name="number"),
]


@dataclass(frozen=True)
class DocumentsSpec:
    """A service's documents: its kinds, and the collections whose writes stage them.

    `registry`: the event registry holding `<service>.document.issued/revoked.v1` (the default
    `contracts.REGISTRY` has them for the six producing services). `on_step`: tests only."""

    kinds: Sequence[DocumentKind]
    collections: Sequence[str]
    registry: EventRegistry | None = None
    on_step: StepHook | None = None


class DocumentStore(Hints):
    """The `documents` collection and its GridFS bucket, for one service. A store that staged
    documents calls `written(collection, id)` (from `Hints`) to wake the issuer."""

    def __init__(
        self,
        db: Database,
        service: str,
        spec: DocumentsSpec,
        clock: Clock,
        outbox: Outbox,
        public_url: str,
    ) -> None:
        self.records: Collection = db[DOCUMENTS]
        self.bucket = AsyncGridFSBucket(db, bucket_name=BUCKET)
        self.service = service
        self.kinds: Mapping[str, DocumentKind] = {kind.name: kind for kind in spec.kinds}
        self.registry = spec.registry
        self.on_step = spec.on_step
        self.clock = clock
        self.outbox = outbox
        self.public_url = public_url.rstrip("/")
        super().__init__()

    # -- what a service calls -------------------------------------------------------------

    async def current(self, kind: str, number: str) -> Document | None:
        """The latest version of a document (any state), or None."""
        versions = await self.versions(kind, number)
        return versions[-1] if versions else None

    async def versions(self, kind: str, number: str) -> list[Document]:
        cursor = self.records.find({"kind": kind, "number": number}, {"outbox": 0})
        return sorted([doc async for doc in cursor], key=lambda doc: int(doc["version"]))

    def verification_url(self, verification_id: str) -> str:
        return f"{self.public_url}/v1/verify/{verification_id}"

    def state(self, record: Document) -> State:
        return state_of(record, self.clock.now())

    async def pdf(self, record: Document) -> bytes | None:
        try:
            stream = await self.bucket.open_download_stream(record["file_id"])
        except NoFile:
            return None
        data: bytes = await stream.read()
        return data

    # -- what the issuer does -----------------------------------------------------------------

    async def perform(self, due: Due) -> None:
        if due.action == "issue":
            await self._issue(due)
        else:
            await self._revoke(due)

    async def _step(self, name: str, due: Due) -> None:
        if self.on_step is not None:
            await self.on_step(name, due)

    async def _issue(self, due: Due) -> None:
        existing = await self.records.find_one({"_id": due.id}, {"version": 1})
        if existing is not None:
            await self._replace_earlier(due, int(existing["version"]))
            return
        kind = self.kinds.get(due.kind)
        if kind is None:
            raise ValueError(f"{self.service} declares no document kind {due.kind!r}")
        if due.issued_at is None:
            raise ValueError("an issue entry without its time")
        versions = await self.versions(due.kind, due.number)
        version = int(versions[-1]["version"]) + 1 if versions else 1
        url = self.verification_url(due.verification_id)
        content = Content(
            title_en=kind.title_en,
            title_ar=kind.title_ar,
            number=due.number,
            version=version,
            holder=due.holder,
            rows=due.rows,
            issued_at=due.issued_at,
            valid_until=due.valid_until,
            verification_url=url,
        )
        started = time.perf_counter()
        pdf = await asyncio.to_thread(render_pdf, content)
        RENDER_SECONDS.labels(due.kind).observe(time.perf_counter() - started)
        digest = hashlib.sha256(pdf).hexdigest()
        await self._step("rendered", due)
        filename = f"{due.kind}-{due.number}-v{version}.pdf"
        try:
            await self.bucket.delete(due.id)  # a crashed attempt's file (or its chunks)
        except NoFile:
            pass
        await self.bucket.upload_from_stream_with_id(
            due.id,
            filename,
            pdf,
            metadata={"kind": due.kind, "number": due.number, "version": version},
        )
        await self._step("stored", due)
        previous = versions[-1] if versions else None
        event = new_event(
            f"{self.service}.document.issued.v1",
            DocumentIssued(
                kind=due.kind,
                number=due.number,
                version=version,
                title=LocalizedText(ar=kind.title_ar, en=kind.title_en),
                verification_id=due.verification_id,
                verification_url=url,
                issued_at=due.issued_at,
                valid_until=due.valid_until,
                replaces_version=int(previous["version"]) if previous else None,
                sha256=digest,
            ),
            source_service=self.service,
            subject=due.number,
            time=self.clock.now(),
            registry=self.registry,
        )
        record: Document = {
            "_id": due.id,
            "kind": due.kind,
            "number": due.number,
            "version": version,
            "state": State.VALID.value,
            "owner": due.owner,
            "holder": due.holder,
            "holder_public": mask_name(due.holder) if kind.holder_is_person else due.holder,
            "title_en": kind.title_en,
            "title_ar": kind.title_ar,
            "issued_at": due.issued_at,
            "valid_until": due.valid_until.isoformat() if due.valid_until else None,
            "verification_id": due.verification_id,
            "verification_url": url,
            "file_id": due.id,
            "filename": filename,
            "sha256": digest,
            "size": len(pdf),
            "replaces_version": int(previous["version"]) if previous else None,
        }
        try:
            await self.outbox.insert_new(self.records, record, [event])
        except DuplicateKeyError:
            if await self.records.find_one({"_id": due.id}, {"_id": 1}) is None:
                raise  # another entry took this version: not ours to paper over
            return  # done meanwhile by another issuer
        ISSUED.labels(due.kind).inc()
        logger.info(
            "document issued",
            extra={"kind": due.kind, "number": due.number, "version": version},
        )
        await self._step("recorded", due)
        await self._replace_earlier(due, version)

    async def _replace_earlier(self, due: Due, version: int) -> None:
        for record in await self.versions(due.kind, due.number):
            if int(record["version"]) < version and record["state"] == State.VALID.value:
                await self.records.update_one(
                    {"_id": record["_id"], "state": State.VALID.value},
                    {
                        "$set": {
                            "state": State.REPLACED.value,
                            "replaced_by_version": version,
                            "replaced_at": due.issued_at,
                        }
                    },
                )

    async def _revoke(self, due: Due) -> None:
        at = due.at or self.clock.now()
        for record in reversed(await self.versions(due.kind, due.number)):
            if record["state"] != State.VALID.value:
                continue
            await self.revoke_record(record, due.reason_en, due.reason_ar, at)
            return

    async def revoke_record(
        self, record: Document, reason_en: str, reason_ar: str, at: datetime
    ) -> bool:
        """Revoke one version now (its event in the same write); False if it is no longer
        valid (revoked or replaced meanwhile)."""
        valid_until = record.get("valid_until")
        event = new_event(
            f"{self.service}.document.revoked.v1",
            DocumentRevoked(
                kind=record["kind"],
                number=record["number"],
                version=int(record["version"]),
                verification_id=record["verification_id"],
                issued_at=record["issued_at"],
                valid_until=valid_until,
                revoked_at=at,
                reason=LocalizedText(ar=reason_ar, en=reason_en),
            ),
            source_service=self.service,
            subject=record["number"],
            time=self.clock.now(),
            registry=self.registry,
        )
        update = self.outbox.stage(
            {
                "$set": {
                    "state": State.REVOKED.value,
                    "revoked_at": at,
                    "reason_en": reason_en,
                    "reason_ar": reason_ar,
                }
            },
            [event],
        )
        result = await self.records.update_one(
            {"_id": record["_id"], "state": State.VALID.value}, update
        )
        if result.matched_count != 1:
            return False
        self.outbox.written(DOCUMENTS, record["_id"])
        REVOKED.labels(record["kind"]).inc()
        return True


class DocumentIssuer:
    """The loop that does the staged entries (see the module's docstring). Safe with several
    replicas: an aggregate is claimed with a lease, as the outbox relay claims one."""

    def __init__(
        self,
        store: DocumentStore,
        collections: Sequence[Collection],
        clock: Clock,
        *,
        poll_seconds: float = 1.0,
        lease_seconds: float = 60.0,
    ) -> None:
        self.store = store
        self.collections = {collection.name: collection for collection in collections}
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.owner = uuid.uuid4().hex
        self._stopping = asyncio.Event()
        self._failures = 0
        self._failed = 0

    def stop(self) -> None:
        self._stopping.set()
        self.store._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                done = await self.pass_once()
                # Only failures (nothing done): wait longer each time, up to 30 s.
                self._failures = self._failures + 1 if self._failed and not done else 0
                delay = min(0.5 * 2**self._failures, 30.0) if self._failures else None
                await self.store.wait(delay or self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._failures += 1
                delay = min(0.5 * 2**self._failures, 30.0)
                logger.warning("document issuer failed; retrying in %.1fs", delay, exc_info=True)
                await self.store.wait(delay)

    async def pass_once(self) -> int:
        """Do what is due now: the hinted aggregates, then any other pending one. An aggregate
        whose entry fails (an unknown kind, a render error, the database away) is logged and
        counted, and left for the next pass; the others go on."""
        done = 0
        self._failed = 0
        targets = [
            (self.collections[name], key)
            for name, key in dict.fromkeys(self.store.take_hints())
            if name in self.collections
        ]
        with purpose("documents.scan"):
            for collection in self.collections.values():
                async for doc in collection.find({DUE_PENDING: True}, {"_id": 1}).limit(200):
                    targets.append((collection, doc["_id"]))
        seen: set[tuple[str, Any]] = set()
        for collection, key in targets:
            if self._stopping.is_set():
                break
            if (collection.name, key) in seen:
                continue
            seen.add((collection.name, key))
            try:
                done += await self._one(collection, key)
            except Exception:
                self._failed += 1
                FAILURES.labels(collection.name).inc()
                logger.warning(
                    "documents of %s %s not issued; retried at the next pass",
                    collection.name,
                    key,
                    exc_info=True,
                )
        return done

    async def _one(self, collection: Collection, key: Any) -> int:
        now = self.clock.now()
        aggregate = await collection.find_one_and_update(
            {
                "_id": key,
                DUE_PENDING: True,
                "$or": [{DUE_LEASE_UNTIL: None}, {DUE_LEASE_UNTIL: {"$lte": now}}],
            },
            {"$set": {DUE_LEASE_UNTIL: now + self.lease, DUE_LEASE_OWNER: self.owner}},
            return_document=ReturnDocument.AFTER,
        )
        if aggregate is None:
            return 0
        entries: list[Document] = list(aggregate.get(DUE_FIELD) or [])
        done: list[Document] = []
        try:
            for entry in entries:
                await self.store.perform(Due.from_entry(entry))
                done.append(entry)
        finally:
            await self._release(collection, key, done, len(entries))
        return len(done)

    async def _release(
        self, collection: Collection, key: Any, done: list[Document], claimed: int
    ) -> None:
        await release_claimed(
            collection,
            {"_id": key, DUE_LEASE_OWNER: self.owner},
            array=DUE_FIELD,
            pending=DUE_PENDING,
            lease=(DUE_LEASE_UNTIL, DUE_LEASE_OWNER),
            done=done,
            claimed=claimed,
        )
