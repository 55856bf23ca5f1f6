"""Every query of the contractors service, and the indexes they need.

Collections:
- `contractors`, `permits`: the registry (`_id` = contractor number; `<permit number>|<year>`),
  written by an import (`import_registry`: upserts, all checked beforehand by `registry.parse`)
  and by completed renewals (`write_renewal`: the new validity).
- `requests`: one document per renewal, `_id` = the request number (`CP-2026-000123`); its
  timeline inside it, its events in its outbox, guarded by `version`. `registry_due_at` is set
  when a renewal completes and removed once the new validity is in `permits` (a sweeper finishes
  it after a crash). The renewed permit's document is staged in the completing write
  (`documents_due`); the shared issuer renders and records it (`services/common/documents`).
- `open_renewals`: `_id` = the permit's id, holding the one open request's number; inserting it is
  what makes a second renewal of the same permit a conflict.
- `verifications`: the one-time codes (hash only). Their `notifier.sms.send` command is staged in
  the same insert, in the document's outbox, **sealed** (Fernet), and relayed to `amman.commands`
  by the service's command relay, which removes it once the broker confirmed it.
- `rate_limits`: fixed-window counters and resend stamps, pruned by a sweeper (`prune_at`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from contracts import CloudEvent
from contracts.notifier import SEND_SMS_ROUTING_KEY
from services.common import idempotency
from services.common.documents import Due, stage_documents, stage_new_documents
from services.common.mongo import (
    Collection,
    Database,
    Document,
    IndexSpec,
    make_client,
    request_number,
)
from services.common.outbox import OUTBOX_FIELD, PENDING_FIELD, Outbox, OutboxEntry
from services.common.pending_bill import PendingBillFields, record_pending_bill
from services.common.sweeper import deadline_index
from services.contractors import registry
from services.contractors.domain import (
    REQUEST_PREFIX,
    Contractor,
    Permit,
    RenewalRequest,
    Status,
    on_registry_change,
)
from services.contractors.otp import Verification

REQUESTS = "requests"
# Where a request keeps its fee's bill (`record_bill`).
PENDING_BILL = PendingBillFields("fee.payment_reference", "fee.e_payment_number")
OPEN = "open_renewals"
VERIFICATIONS = "verifications"
RATE_LIMITS = "rate_limits"
REGISTRY_DUE_AT = "registry_due_at"
PRUNE_AT = "prune_at"

INDEXES = [
    IndexSpec(REQUESTS, [("owner_subject", 1), ("submitted_at", -1)], name="citizen_requests"),
    IndexSpec(REQUESTS, [("status", 1), ("submitted_at", -1)], name="requests_by_status"),
    IndexSpec(REQUESTS, [("submitted_at", -1)], name="requests_by_submission"),
    IndexSpec(registry.PERMITS, [("contractor_number", 1)], name="permits_by_contractor"),
    deadline_index(REQUESTS, REGISTRY_DUE_AT),
    # The command relay's index (the shared relay's own, for a collection it does not relay).
    IndexSpec(VERIFICATIONS, [(PENDING_FIELD, 1)], sparse=True, name="outbox_pending"),
    deadline_index(VERIFICATIONS, PRUNE_AT),
    deadline_index(RATE_LIMITS, PRUNE_AT),
    idempotency.key_index(REQUESTS),
]


@dataclass(frozen=True)
class PermitHold:
    """The renewal holding a permit, and the idempotency key id of the POST that took it."""

    request_number: str
    key_id: str | None


@dataclass(frozen=True)
class RequestQuery:
    owner_subject: str | None = None
    status: Status | None = None

    def filter(self) -> Document:
        query: Document = {}
        if self.owner_subject is not None:
            query["owner_subject"] = self.owner_subject
        if self.status is not None:
            query["status"] = str(self.status)
        return query


def _request_document(request: RenewalRequest) -> Document:
    document: Document = request.model_dump(mode="json", exclude={"request_number"})
    # Instants as BSON dates (sortable, comparable), days as ISO text.
    for name in ("submitted_at", "completed_at"):
        document[name] = getattr(request, name)
    document["_id"] = request.request_number
    return document


def _to_request(document: Document) -> RenewalRequest:
    return RenewalRequest.model_validate({**document, "request_number": document["_id"]})


def _contractor_document(contractor: Contractor) -> Document:
    document: Document = contractor.model_dump(mode="json", exclude={"number"})
    document["_id"] = contractor.number
    return document


def _to_contractor(document: Document) -> Contractor:
    return Contractor.model_validate({**document, "number": document["_id"]})


def _permit_fields(permit: Permit) -> Document:
    """What an import sets on a permit (never `last_renewal`, which renewals write)."""
    return permit.model_dump(mode="json", exclude={"last_renewal"})


def _to_permit(document: Document) -> Permit:
    return Permit.model_validate(document)


@asynccontextmanager
async def connected(mongo_url: str, database: str, app_name: str) -> AsyncIterator[ContractorStore]:
    """A store on its own connection, for a command-line tool (the service builds its store
    from the runtime's database)."""
    client = make_client(mongo_url, app_name)
    try:
        yield ContractorStore(client[database], Outbox(), Outbox())
    finally:
        await client.close()


class ContractorStore:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        command_outbox: Outbox,
        documents_written: Callable[[str, Any], None] | None = None,
    ) -> None:
        self._db = db
        # Wakes the document issuer after a write that staged a document (it polls anyway).
        self._documents_written = documents_written
        self._outbox = outbox
        self._command_outbox = command_outbox
        self.requests: Collection = db[REQUESTS]
        self.open: Collection = db[OPEN]
        self.verifications: Collection = db[VERIFICATIONS]
        self.rate_limits: Collection = db[RATE_LIMITS]
        self.contractors: Collection = db[registry.CONTRACTORS]
        self.permits: Collection = db[registry.PERMITS]

    # ---- the registry ------------------------------------------------------------------------

    async def contractor(self, number: str) -> Contractor | None:
        document = await self.contractors.find_one({"_id": number})
        return None if document is None else _to_contractor(document)

    async def permit(self, permit_id: str) -> Permit | None:
        document = await self.permits.find_one({"_id": permit_id})
        return None if document is None else _to_permit(document)

    async def permits_of(self, contractor_number: str) -> list[Permit]:
        cursor = self.permits.find({"contractor_number": contractor_number})
        found = [_to_permit(document) async for document in cursor]
        return sorted(found, key=lambda permit: (permit.year, permit.number))

    async def import_registry(
        self, parsed: registry.Parsed, now: datetime | None = None
    ) -> registry.Report:
        """Upsert a checked file (contractors first, then their permits): contractors by number,
        permits by number and year; what is already there as the file says is left unchanged.
        A permit the file revokes has its renewed permit revoked, staged in the permit's write."""
        assert not parsed.errors
        report = registry.Report(rows=parsed.rows)
        for contractor in parsed.contractors.values():
            fields = _contractor_document(contractor)
            number = fields.pop("_id")
            await self._upsert(self.contractors, number, fields, registry.CONTRACTORS, report)
        at = now or datetime.now(UTC)
        for permit in parsed.permits.values():

            def documents(existing: Document | None, permit: Permit = permit) -> list[Due]:
                before = None if existing is None else _to_permit(existing)
                return on_registry_change(before, permit, at)

            await self._upsert(
                self.permits,
                permit.id,
                _permit_fields(permit),
                registry.PERMITS,
                report,
                documents=documents,
            )
        return report

    async def _upsert(
        self,
        collection: Collection,
        document_id: str,
        fields: Document,
        kind: str,
        report: registry.Report,
        documents: Callable[[Document | None], list[Due]] = lambda _: [],
    ) -> None:
        now = datetime.now(UTC)
        for _ in range(3):
            existing = await collection.find_one({"_id": document_id})
            dues = documents(existing)
            if existing is None:
                new = stage_new_documents({"_id": document_id, **fields, "imported_at": now}, dues)
                try:
                    await collection.insert_one(new)
                except DuplicateKeyError:
                    continue
                report.created[kind] += 1
            elif all(existing.get(key) == value for key, value in fields.items()):
                report.unchanged[kind] += 1
                return
            else:
                update = stage_documents({"$set": {**fields, "imported_at": now}}, dues)
                await collection.update_one({"_id": document_id}, update)
                report.updated[kind] += 1
            if dues and self._documents_written is not None:
                self._documents_written(collection.name, document_id)
            return

    async def write_renewal(self, request: RenewalRequest) -> bool:
        """Write a completed renewal's validity to its permit, once (guarded by the request
        number); True if written now or before."""
        assert request.valid_from is not None and request.valid_to is not None
        result = await self.permits.update_one(
            {"_id": request.permit_id, "last_renewal": {"$ne": request.request_number}},
            {
                "$set": {
                    "valid_from": request.valid_from.isoformat(),
                    "valid_to": request.valid_to.isoformat(),
                    "last_renewal": request.request_number,
                }
            },
        )
        return (
            result.matched_count == 1
            or await self.permits.count_documents(
                {"_id": request.permit_id, "last_renewal": request.request_number}
            )
            == 1
        )

    # ---- requests ----------------------------------------------------------------------------

    async def new_request_number(self, now: datetime) -> str:
        return await request_number(self._db, REQUEST_PREFIX, now, ahead=True)

    async def add_request(self, request: RenewalRequest, events: Sequence[CloudEvent]) -> None:
        """Insert a new request with its first events and the `Idempotency-Key` of the POST
        creating it, in one write."""
        document = idempotency.stamp(_request_document(request))
        await self._outbox.insert_new(self.requests, document, events)

    async def request_created_under(self, key_id: str) -> RenewalRequest | None:
        """The request a POST with this idempotency key id created, if it got stored."""
        document = await idempotency.find_stamped(self.requests, key_id)
        return None if document is None else _to_request(document)

    async def save_request(
        self,
        request: RenewalRequest,
        events: Sequence[CloudEvent],
        *,
        registry_due: bool = False,
        documents: Sequence[Due] = (),
    ) -> int:
        """Save a changed request over the version it was loaded at (`request.version`), with its
        events and the documents it issues, in one write; the new version. `StaleVersion` if
        another change got there first."""
        document = _request_document(request)
        document.pop("_id")
        document.pop("version")
        if registry_due:
            document[REGISTRY_DUE_AT] = request.completed_at
        update = stage_documents({"$set": document}, documents)
        version = await self._outbox.save_versioned(
            self.requests, request.request_number, request.version, update, events
        )
        if documents and self._documents_written is not None:
            self._documents_written(REQUESTS, request.request_number)
        return version

    async def registry_written(self, number: str) -> None:
        await self.requests.update_one({"_id": number}, {"$unset": {REGISTRY_DUE_AT: ""}})

    async def record_bill(self, number: str, reference: str, e_payment_number: str) -> bool:
        """`domain.record_bill` in one conditional write (`services.common.pending_bill`)."""
        return await record_pending_bill(
            self.requests, number, PENDING_BILL, reference=reference,
            e_payment_number=e_payment_number,
        )  # fmt: skip

    async def request(self, number: str) -> RenewalRequest | None:
        document = await self.requests.find_one({"_id": number}, {OUTBOX_FIELD: 0})
        return None if document is None else _to_request(document)

    async def search_requests(
        self, query: RequestQuery, *, skip: int, limit: int
    ) -> tuple[list[RenewalRequest], int]:
        condition = query.filter()
        total = await self.requests.count_documents(condition)
        cursor = (
            self.requests.find(condition, {OUTBOX_FIELD: 0})
            .sort([("submitted_at", DESCENDING), ("_id", DESCENDING)])
            .skip(skip)
            .limit(limit)
        )
        return [_to_request(document) async for document in cursor], total

    # ---- one open renewal per permit ---------------------------------------------------------

    async def open_renewal(self, permit_id: str) -> str | None:
        document = await self.open.find_one({"_id": permit_id})
        return None if document is None else str(document["request_number"])

    async def permit_hold(self, permit_id: str) -> PermitHold | None:
        document = await self.open.find_one({"_id": permit_id})
        if document is None:
            return None
        return PermitHold(str(document["request_number"]), document.get("key_id"))

    async def hold_permit(
        self, permit_id: str, number: str, *, key_id: str | None = None
    ) -> str | None:
        """Take the permit for `number` (submitted under the idempotency key id `key_id`); the
        number already holding it if another does."""
        try:
            await self.open.insert_one(
                {"_id": permit_id, "request_number": number, "key_id": key_id}
            )
        except DuplicateKeyError:
            return await self.open_renewal(permit_id) or await self.hold_permit(
                permit_id, number, key_id=key_id
            )
        return None

    async def release_permit(self, permit_id: str, number: str) -> None:
        await self.open.delete_one({"_id": permit_id, "request_number": number})

    # ---- one-time codes ----------------------------------------------------------------------

    async def add_verification(
        self,
        verification: Verification,
        sealed_command: str,
        command: CloudEvent,
        prune_at: datetime,
    ) -> None:
        """Insert the code's record (its hash) with its SMS command, sealed, in its outbox."""
        document: Document = verification.model_dump(mode="python", exclude={"id"})
        document["_id"] = verification.id
        document[PRUNE_AT] = prune_at
        entry = OutboxEntry(
            id=command.id,
            routing_key=SEND_SMS_ROUTING_KEY,
            body=sealed_command,
            time=command.time.isoformat(),
            traceparent=command.traceparent,
        )
        document[OUTBOX_FIELD] = [entry.to_document()]
        document[PENDING_FIELD] = True
        await self.verifications.insert_one(document)
        self._command_outbox.written(VERIFICATIONS, verification.id)

    async def verification(self, verification_id: str) -> Verification | None:
        document = await self.verifications.find_one({"_id": verification_id}, {OUTBOX_FIELD: 0})
        if document is None:
            return None
        return Verification.model_validate({**document, "id": document["_id"]})

    async def save_verification(self, verification: Verification) -> int:
        """Save a checked code over the version it was loaded at; the new version.
        `StaleVersion` if another check got there first."""
        document: Document = verification.model_dump(mode="python", exclude={"id", "version"})
        return await self._command_outbox.save_versioned(
            self.verifications, verification.id, verification.version, {"$set": document}
        )

    async def prune_verification(self, document: Document) -> None:
        """Delete an old code's record once its SMS command has left (never an unsent one)."""
        await self.verifications.delete_one(
            {"_id": document["_id"], f"{OUTBOX_FIELD}.id": {"$exists": False}}
        )

    # ---- rate limits -------------------------------------------------------------------------

    async def count_in_window(self, key: str, window_end: datetime) -> int:
        """Add one to the fixed-window counter `key`; return the count including this one."""
        document = await self.rate_limits.find_one_and_update(
            {"_id": key},
            {"$inc": {"count": 1}, "$setOnInsert": {PRUNE_AT: window_end}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert document is not None
        return int(document["count"])

    async def stamp_if_quiet(self, key: str, now: datetime, gap: timedelta) -> datetime | None:
        """Record `now` under `key` unless the last stamp is less than `gap` ago; return the
        last stamp when refused."""
        try:
            await self.rate_limits.insert_one({"_id": key, "at": now, PRUNE_AT: now + gap})
            return None
        except DuplicateKeyError:
            pass
        result = await self.rate_limits.update_one(
            {"_id": key, "at": {"$lte": now - gap}}, {"$set": {"at": now, PRUNE_AT: now + gap}}
        )
        if result.modified_count == 1:
            return None
        document = await self.rate_limits.find_one({"_id": key})
        return None if document is None else document["at"]

    async def prune_rate_limit(self, document: Document) -> None:
        await self.rate_limits.delete_one({"_id": document["_id"], PRUNE_AT: document[PRUNE_AT]})
