"""Every query of the training service, and the indexes they need.

One collection, `requests` (one document per request, carrying its events in the outbox; its
`due_at` is swept), and the GridFS bucket `attachments` for the uploaded letters and certificates.
Reads of one request are by `_id` (FerretDB uses its primary key only for a plain `_id` filter).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contracts import CloudEvent
from services.common import idempotency
from services.common.mongo import Database, Document, IndexSpec
from services.common.outbox import Outbox
from services.common.sweeper import deadline_index
from services.common.uploads import FileBucket
from services.training.domain import HistoryEntry, Status, TrainingRequest

REQUESTS = "requests"
ATTACHMENTS_BUCKET = "attachments"
DUE_AT = "due_at"

INDEXES = [
    deadline_index(REQUESTS, DUE_AT),
    IndexSpec(REQUESTS, [("owner_subject", 1), ("created_at", -1)]),
    IndexSpec(REQUESTS, [("status", 1), ("created_at", 1)]),
    idempotency.key_index(REQUESTS),
]

# Kept out of `$set`: the version is incremented, the history appended to, the key is `_id`.
_NOT_SET = frozenset({"version", "history", "number"})


class StaleVersion(Exception):
    """Someone else changed the document first: reload and decide again."""


def _fields(request: TrainingRequest) -> Document:
    raw = request.model_dump(mode="python")
    return {key: _bson(value) for key, value in raw.items() if key not in _NOT_SET}


def _bson(value: Any) -> Any:
    """Dates (Amman days) are stored as ISO strings: BSON has datetimes only."""
    from datetime import date

    if isinstance(value, dict):
        return {k: _bson(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_bson(v) for v in value]
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


def request_from(document: Document) -> TrainingRequest:
    return TrainingRequest.model_validate({**document, "number": document["_id"]})


class TrainingStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.requests = db[REQUESTS]
        self._outbox = outbox
        self.files = FileBucket(db, ATTACHMENTS_BUCKET)

    async def insert(self, request: TrainingRequest, events: Sequence[CloudEvent]) -> None:
        document = {
            "_id": request.number,
            **_fields(request),
            "version": request.version,
            "history": [_bson(entry.model_dump()) for entry in request.history],
        }
        # With the `Idempotency-Key` of the POST creating it, in the same write.
        idempotency.stamp(document)
        await self.requests.insert_one(self._outbox.stage_new(document, events))
        self._outbox.written(REQUESTS, request.number)

    async def request_created_under(self, key_id: str) -> TrainingRequest | None:
        """The request a POST with this idempotency key id created, if it got stored."""
        document = await idempotency.find_stamped(self.requests, key_id)
        return None if document is None else request_from(document)

    async def request(self, number: str) -> TrainingRequest | None:
        document = await self.requests.find_one({"_id": number})
        return None if document is None else request_from(document)

    async def save(
        self,
        before: TrainingRequest,
        after: TrainingRequest,
        entries: Sequence[HistoryEntry],
        events: Sequence[CloudEvent],
    ) -> TrainingRequest:
        update: dict[str, Any] = {"$set": _fields(after), "$inc": {"version": 1}}
        if entries:
            update["$push"] = {"history": {"$each": [_bson(e.model_dump()) for e in entries]}}
        result = await self.requests.update_one(
            {"_id": before.number, "version": before.version}, self._outbox.stage(update, events)
        )
        if result.matched_count == 0:
            raise StaleVersion(before.number)
        if events:
            self._outbox.written(REQUESTS, before.number)
        return after.model_copy(update={"version": before.version + 1})

    async def of_owner(self, owner: str, limit: int, offset: int) -> list[TrainingRequest]:
        cursor = (
            self.requests.find({"owner_subject": owner})
            .sort("created_at", -1)
            .skip(offset)
            .limit(limit)
        )
        return [request_from(document) async for document in cursor]

    async def staff_list(
        self, status: Status | None, overdue_at: datetime | None, limit: int, offset: int
    ) -> list[TrainingRequest]:
        query: dict[str, Any] = {}
        if status is not None:
            query["status"] = status.value
        if overdue_at is not None:
            query["status"] = Status.UNDER_REVIEW.value
            query["review_due_at"] = {"$lte": overdue_at}
        cursor = self.requests.find(query).sort("created_at", 1).skip(offset).limit(limit)
        return [request_from(document) async for document in cursor]

    async def count_under_review(self, now: datetime) -> dict[str, int]:
        """Requests under review, within their SLA and overdue (for the gauge)."""
        under = Status.UNDER_REVIEW.value
        overdue = await self.requests.count_documents(
            {"status": under, "review_due_at": {"$lte": now}}
        )
        total = await self.requests.count_documents({"status": under})
        return {"within": total - overdue, "overdue": overdue}
