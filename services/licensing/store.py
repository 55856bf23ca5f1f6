"""Every query of the licensing service, and the indexes they need.

Collections: `requests` (one per licence request, carrying its events in the outbox and the
documents its changes issue, `documents_due`; its `sla_check_at` is swept), `licences` (the
public verification token -> the request number, read by `_id` only) and the GridFS bucket
`documents` (the attachments, under ObjectIds; the issued licence PDFs share the bucket under
their documents' hex ids, with the shared `documents` collection of their records:
`services/common/documents`). Frequent reads are by `_id`
(FerretDB uses its primary key only for a plain `_id` filter); the staff lists filter on `status`
and the citizen's list on `owner_subject`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from contracts import CloudEvent
from services.common import idempotency
from services.common.documents import DocumentStore, Due, stage_documents
from services.common.files import FileBucket
from services.common.mongo import Database, Document, IndexSpec, request_number
from services.common.outbox import Outbox
from services.common.pending_bill import PendingBillFields, record_pending_bill
from services.common.sweeper import deadline_index
from services.licensing.domain import (
    LICENCE_PREFIX,
    REQUEST_PREFIX,
    LicenceRequest,
    TimelineEntry,
)

REQUESTS = "requests"
# Where a request keeps its bill (`record_bill`).
PENDING_BILL = PendingBillFields("payment_reference", "e_payment_number")
LICENCES = "licences"
DOCUMENTS_BUCKET = "documents"
SLA_CHECK_AT = "sla_check_at"

INDEXES = [
    deadline_index(REQUESTS, SLA_CHECK_AT),
    IndexSpec(REQUESTS, [("status", 1), ("created_at", 1)]),
    IndexSpec(REQUESTS, [("owner_subject", 1), ("created_at", -1)]),
    idempotency.key_index(REQUESTS),
]

# Kept out of `$set`: the version is the versioned save's, the history appended to, the key is
# `_id`. Only model fields are set, so what others write on the same document (the outbox, the
# sweeper's lease) is never overwritten.
_NOT_SET = frozenset({"version", "history", "number"})


def _fields(request: LicenceRequest) -> Document:
    raw = request.model_dump()
    return {key: value for key, value in raw.items() if key not in _NOT_SET}


def _entries(entries: Sequence[TimelineEntry]) -> list[Document]:
    return [entry.model_dump() for entry in entries]


def request_from(document: Document) -> LicenceRequest:
    return LicenceRequest.model_validate({**document, "number": document["_id"]})


class LicensingStore:
    def __init__(self, db: Database, outbox: Outbox, documents: DocumentStore | None) -> None:
        self._db = db
        self.requests = db[REQUESTS]
        self.licences = db[LICENCES]
        self._outbox = outbox
        self.documents = documents
        self.files = FileBucket(db, DOCUMENTS_BUCKET)

    # ---- requests --------------------------------------------------------------------------

    async def new_request_number(self, now: datetime) -> str:
        """`LC-<year>-<6 digits>`, the next of the year."""
        return await request_number(self._db, REQUEST_PREFIX, now, ahead=True)

    async def new_licence_number(self, now: datetime) -> str:
        """`PL-<year>-<6 digits>`, the next of the year."""
        return await request_number(self._db, LICENCE_PREFIX, now)

    async def insert_request(self, request: LicenceRequest) -> None:
        """Insert a new request with the `Idempotency-Key` of the POST creating it."""
        await self.requests.insert_one(idempotency.stamp(
            {"_id": request.number, **_fields(request), "version": request.version,
             "history": _entries(request.history)}
        ))  # fmt: skip

    async def request_created_under(self, key_id: str) -> LicenceRequest | None:
        """The request a POST with this idempotency key id created, if it got stored."""
        document = await idempotency.find_stamped(self.requests, key_id)
        return None if document is None else request_from(document)

    async def record_bill(
        self, number: str, reference: str, e_payment_number: str, amount_fils: int,
        due_at: datetime,
    ) -> bool:  # fmt: skip
        """`domain.record_bill` in one conditional write (`services.common.pending_bill`), with
        the bill's amount and due time."""
        return await record_pending_bill(
            self.requests, number, PENDING_BILL, reference=reference,
            e_payment_number=e_payment_number,
            also={"bill_amount_fils": amount_fils, "bill_due_at": due_at},
        )  # fmt: skip

    async def request(self, number: str) -> LicenceRequest | None:
        document = await self.requests.find_one({"_id": number})
        return None if document is None else request_from(document)

    async def save_request(
        self,
        before: LicenceRequest,
        after: LicenceRequest,
        events: Sequence[CloudEvent],
        documents: Sequence[Due] = (),
    ) -> LicenceRequest:
        """`after` over `before`'s version, its new timeline lines appended, its events in the
        outbox and the documents it issues staged, all in the same write (`StaleVersion` if
        someone changed it first); then the document issuer is woken."""
        entries = after.history[len(before.history) :]
        update: dict[str, Any] = {"$set": _fields(after)}
        if entries:
            update["$push"] = {"history": {"$each": _entries(entries)}}
        if documents and self.documents is None:
            raise RuntimeError("documents staged by a store without the document machinery")
        version = await self._outbox.save_versioned(
            self.requests, before.number, before.version, stage_documents(update, documents),
            events,
        )  # fmt: skip
        if documents and self.documents is not None:
            self.documents.written(REQUESTS, before.number)
        return after.model_copy(update={"version": version})

    async def _page(
        self, query: Document, order: int, skip: int, limit: int
    ) -> tuple[list[LicenceRequest], int]:
        cursor = self.requests.find(query).sort("created_at", order).skip(skip).limit(limit)
        found = [request_from(document) async for document in cursor]
        return found, await self.requests.count_documents(query)

    async def requests_of_owner(
        self, owner: str, *, skip: int, limit: int
    ) -> tuple[list[LicenceRequest], int]:
        """The owner's requests, newest first, and how many they have."""
        return await self._page({"owner_subject": owner}, -1, skip, limit)

    async def requests_in(
        self, statuses: Sequence[str], *, skip: int, limit: int
    ) -> tuple[list[LicenceRequest], int]:
        """The requests in `statuses`, oldest first, and how many there are."""
        return await self._page({"status": {"$in": list(statuses)}}, 1, skip, limit)

    async def overdue(
        self,
        running: Sequence[str],
        paused: Sequence[str],
        now: datetime,
        *,
        skip: int,
        limit: int,
    ) -> tuple[list[LicenceRequest], int]:
        """Open requests past their target (`domain.is_overdue` as a query): running past it, or
        paused after it was passed; oldest first."""
        query = {
            "$or": [
                {"status": {"$in": list(running)}, "sla_due_at": {"$lte": now}},
                {"status": {"$in": list(paused)}, "sla_breached_at": {"$ne": None}},
            ]
        }
        return await self._page(query, 1, skip, limit)

    # ---- licences --------------------------------------------------------------------------

    async def record_licence_token(self, token: str, number: str, at: datetime) -> None:
        try:
            await self.licences.insert_one({"_id": token, "request_number": number, "at": at})
        except DuplicateKeyError:
            pass  # the same token again (a retried attempt): already recorded

    async def request_of_token(self, token: str) -> str | None:
        found = await self.licences.find_one({"_id": token})
        return None if found is None else str(found["request_number"])
