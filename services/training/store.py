"""Every query of the training service, and the indexes they need.

One collection, `requests` (one document per request, carrying its events in the outbox; its
`due_at` is swept), and the GridFS bucket `attachments` for the uploaded letters and certificates.
Reads of one request are by `_id` (FerretDB uses its primary key only for a plain `_id` filter).
A change is written by `Outbox.save_versioned`: only over the version it was decided on, with its
events, else `StaleVersion` (`services.common.change` decides again).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from contracts import CloudEvent
from services.common import idempotency, workflow
from services.common.documents import DocumentStore, Due, stage_documents
from services.common.files import FileBucket
from services.common.mongo import Database, Document, IndexSpec, request_number
from services.common.outbox import Outbox
from services.common.pending_bill import PendingBillFields, record_pending_bill
from services.common.sweeper import deadline_index
from services.training.domain import REQUEST_PREFIX, WORKFLOW, Status, TrainingRequest

REQUESTS = "requests"
# Where a request keeps its bill (`record_bill`).
PENDING_BILL = PendingBillFields("payment_reference", "e_payment_number")
ATTACHMENTS_BUCKET = "attachments"
DUE_AT = "due_at"

INDEXES = [
    deadline_index(REQUESTS, DUE_AT),
    IndexSpec(REQUESTS, [("owner_subject", 1), ("created_at", -1)]),
    IndexSpec(REQUESTS, [("status", 1), ("created_at", 1)]),
    idempotency.key_index(REQUESTS),
]

# Kept out of `$set`: the version is the save's, the timeline is appended to, the key is `_id`.
_NOT_SET = frozenset({"version", "history", "number"})


def _fields(request: TrainingRequest) -> Document:
    raw = request.model_dump(mode="python")
    return {key: _bson(value) for key, value in raw.items() if key not in _NOT_SET}


def _bson(value: Any) -> Any:
    """Dates (Amman days) are stored as ISO strings: BSON has datetimes only."""
    if isinstance(value, dict):
        return {k: _bson(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_bson(v) for v in value]
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


def request_from(document: Document) -> TrainingRequest:
    history = [workflow.stored_line(WORKFLOW, entry) for entry in document.get("history", [])]
    return TrainingRequest.model_validate(
        {**document, "number": document["_id"], "history": history}
    )


class TrainingStore:
    def __init__(self, db: Database, outbox: Outbox, documents: DocumentStore) -> None:
        self._db = db
        self.requests = db[REQUESTS]
        self._outbox = outbox
        self.files = FileBucket(db, ATTACHMENTS_BUCKET)
        self.documents = documents

    async def new_number(self, now: datetime) -> str:
        """The next request number of the year: `TR-2026-000001`."""
        return await request_number(self._db, REQUEST_PREFIX, now, ahead=True)

    async def insert(self, request: TrainingRequest, events: Sequence[CloudEvent]) -> None:
        document = {
            "_id": request.number,
            **_fields(request),
            "version": request.version,
            "history": [_bson(entry.model_dump()) for entry in request.history],
        }
        # With the `Idempotency-Key` of the POST creating it, in the same write.
        idempotency.stamp(document)
        await self._outbox.insert_new(self.requests, document, events)

    async def request_created_under(self, key_id: str) -> TrainingRequest | None:
        """The request a POST with this idempotency key id created, if it got stored."""
        document = await idempotency.find_stamped(self.requests, key_id)
        return None if document is None else request_from(document)

    async def record_bill(self, number: str, reference: str, e_payment_number: str) -> bool:
        """`domain.record_bill` in one conditional write (`services.common.pending_bill`)."""
        return await record_pending_bill(
            self.requests, number, PENDING_BILL, reference=reference,
            e_payment_number=e_payment_number,
        )  # fmt: skip

    async def request(self, number: str) -> TrainingRequest | None:
        document = await self.requests.find_one({"_id": number})
        return None if document is None else request_from(document)

    async def save(
        self,
        before: TrainingRequest,
        after: TrainingRequest,
        events: Sequence[CloudEvent],
        documents: Sequence[Due] = (),
    ) -> TrainingRequest:
        """`after` over `before`'s version, with its new timeline lines, its events and the
        documents it issues or revokes (the issuer does them after the write);
        `StaleVersion` if the request changed meanwhile."""
        update: dict[str, Any] = {"$set": _fields(after)}
        added = after.history[len(before.history) :]
        if added:
            update["$push"] = {"history": {"$each": [_bson(e.model_dump()) for e in added]}}
        version = await self._outbox.save_versioned(
            self.requests, before.number, before.version, stage_documents(update, documents), events
        )
        if documents:
            self.documents.written(REQUESTS, before.number)
        return after.model_copy(update={"version": version})

    async def letter(self, document_id: str) -> tuple[Document, bytes] | None:
        """An issued letter's record and its PDF, by the id the request keeps; None while the
        issuer has not issued it yet."""
        record = await self.documents.records.find_one({"_id": document_id}, {"outbox": 0})
        if record is None:
            return None
        data = await self.documents.pdf(record)
        return None if data is None else (record, data)

    async def _page(
        self, query: Document, order: int, skip: int, limit: int
    ) -> tuple[list[TrainingRequest], int]:
        cursor = self.requests.find(query).sort("created_at", order).skip(skip).limit(limit)
        found = [request_from(document) async for document in cursor]
        return found, await self.requests.count_documents(query)

    async def of_owner(
        self, owner: str, *, skip: int, limit: int
    ) -> tuple[list[TrainingRequest], int]:
        """An owner's requests, newest first, and how many they have."""
        return await self._page({"owner_subject": owner}, -1, skip, limit)

    async def staff_list(
        self, status: Status | None, overdue_at: datetime | None, *, skip: int, limit: int
    ) -> tuple[list[TrainingRequest], int]:
        """Requests by status, or under review past their SLA at `overdue_at`, oldest first,
        and how many match."""
        query: dict[str, Any] = {}
        if status is not None:
            query["status"] = status.value
        if overdue_at is not None:
            query["status"] = Status.UNDER_REVIEW.value
            query["review_due_at"] = {"$lte": overdue_at}
        return await self._page(query, 1, skip, limit)

    async def count_under_review(self, now: datetime) -> dict[str, int]:
        """Requests under review, within their SLA and overdue (for the gauge)."""
        under = Status.UNDER_REVIEW.value
        overdue = await self.requests.count_documents(
            {"status": under, "review_due_at": {"$lte": now}}
        )
        total = await self.requests.count_documents({"status": under})
        return {"within": total - overdue, "overdue": overdue}
