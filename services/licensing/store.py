"""Every query of the licensing service, and the indexes they need.

Collections: `requests` (one per licence request, carrying its events in the outbox; its
`sla_check_at` is swept), `licences` (the public verification token -> the request number, read
by `_id` only) and the GridFS bucket `documents` (the attachments). Frequent reads are by `_id`
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
from services.common.mongo import Database, Document, IndexSpec
from services.common.outbox import Outbox
from services.common.sweeper import deadline_index
from services.common.uploads import FileBucket
from services.licensing.domain import HistoryEntry, LicenceRequest

REQUESTS = "requests"
LICENCES = "licences"
DOCUMENTS_BUCKET = "documents"
SLA_CHECK_AT = "sla_check_at"

INDEXES = [
    deadline_index(REQUESTS, SLA_CHECK_AT),
    IndexSpec(REQUESTS, [("status", 1), ("created_at", 1)]),
    IndexSpec(REQUESTS, [("owner_subject", 1), ("created_at", -1)]),
    idempotency.key_index(REQUESTS),
]

# Kept out of `$set`: the version is incremented, the history appended to, the key is `_id`.
# Only model fields are set, so what others write on the same document (the outbox, the
# sweeper's lease) is never overwritten.
_NOT_SET = frozenset({"version", "history", "number"})


class StaleVersion(Exception):
    """Someone else changed the request first: reload and decide again."""


def _fields(request: LicenceRequest) -> Document:
    raw = request.model_dump()
    return {key: value for key, value in raw.items() if key not in _NOT_SET}


def _entries(entries: Sequence[HistoryEntry]) -> list[Document]:
    return [entry.model_dump() for entry in entries]


def request_from(document: Document) -> LicenceRequest:
    return LicenceRequest.model_validate({**document, "number": document["_id"]})


class LicensingStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.requests = db[REQUESTS]
        self.licences = db[LICENCES]
        self._outbox = outbox
        self.files = FileBucket(db, DOCUMENTS_BUCKET)

    # ---- requests --------------------------------------------------------------------------

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

    async def request(self, number: str) -> LicenceRequest | None:
        document = await self.requests.find_one({"_id": number})
        return None if document is None else request_from(document)

    async def save_request(
        self,
        before: LicenceRequest,
        after: LicenceRequest,
        entries: Sequence[HistoryEntry],
        events: Sequence[CloudEvent],
    ) -> LicenceRequest:
        update: dict[str, Any] = {"$set": _fields(after), "$inc": {"version": 1}}
        if entries:
            update["$push"] = {"history": {"$each": _entries(entries)}}
        result = await self.requests.update_one(
            {"_id": before.number, "version": before.version}, self._outbox.stage(update, events)
        )
        if result.matched_count == 0:
            raise StaleVersion(before.number)
        if events:
            self._outbox.written(REQUESTS, before.number)
        return after.model_copy(
            update={"version": before.version + 1, "history": (*before.history, *entries)}
        )

    async def requests_of_owner(self, owner: str, limit: int, offset: int) -> list[LicenceRequest]:
        cursor = (
            self.requests.find({"owner_subject": owner})
            .sort("created_at", -1)
            .skip(offset)
            .limit(limit)
        )
        return [request_from(document) async for document in cursor]

    async def requests_in(
        self, statuses: Sequence[str], limit: int, offset: int
    ) -> list[LicenceRequest]:
        cursor = (
            self.requests.find({"status": {"$in": list(statuses)}})
            .sort("created_at", 1)
            .skip(offset)
            .limit(limit)
        )
        return [request_from(document) async for document in cursor]

    async def overdue(
        self,
        running: Sequence[str],
        paused: Sequence[str],
        now: datetime,
        limit: int,
        offset: int,
    ) -> list[LicenceRequest]:
        """Open requests past their target (`domain.is_overdue` as a query): running past it, or
        paused after it was passed."""
        query = {
            "$or": [
                {"status": {"$in": list(running)}, "sla_due_at": {"$lte": now}},
                {"status": {"$in": list(paused)}, "sla_breached_at": {"$ne": None}},
            ]
        }
        cursor = self.requests.find(query).sort("created_at", 1).skip(offset).limit(limit)
        return [request_from(document) async for document in cursor]

    # ---- licences --------------------------------------------------------------------------

    async def record_licence_token(self, token: str, number: str, at: datetime) -> None:
        try:
            await self.licences.insert_one({"_id": token, "request_number": number, "at": at})
        except DuplicateKeyError:
            pass  # the same token again (a retried attempt): already recorded

    async def request_of_token(self, token: str) -> str | None:
        found = await self.licences.find_one({"_id": token})
        return None if found is None else str(found["request_number"])
