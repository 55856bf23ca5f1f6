"""Every query of the courses service, and the indexes they need.

Collections: `courses` (the arbiter of seats and of the minimum; its two deadline fields are swept),
`requests` (one per request to attend, carrying its events in the outbox) and `passes` (one per
applicant and subject: a placement-test pass counts for later courses). Frequent reads are by `_id`
(FerretDB uses its primary key only for a plain `_id` filter); the staff lists filter on
`course_code` and `owner_subject`.
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
from services.courses.domain import Course, CourseRequest, HistoryEntry

COURSES = "courses"
REQUESTS = "requests"
PASSES = "passes"
PROOFS_BUCKET = "proofs"
START_DUE_AT = "start_due_at"
SYNC_AT = "sync_at"
SEAT_CHECK_AT = "seat_check_at"

INDEXES = [
    deadline_index(COURSES, START_DUE_AT),
    deadline_index(COURSES, SYNC_AT),
    deadline_index(REQUESTS, SEAT_CHECK_AT),
    IndexSpec(REQUESTS, [("course_code", 1), ("created_at", 1)]),
    IndexSpec(REQUESTS, [("owner_subject", 1), ("created_at", -1)]),
    idempotency.key_index(REQUESTS),
]

# Kept out of `$set`: the version is incremented, the history appended to, the key is `_id`. Only
# model fields are set, so what others write on the same document (the outbox, the sweepers'
# leases) is never overwritten.
# The seat check is cleared only by `seated` and `clear_seat_check`, never by a later save.
_NOT_SET = frozenset({"version", "history", "number", "code", SEAT_CHECK_AT})


class StaleVersion(Exception):
    """Someone else changed the document first: reload and decide again."""


def _fields(model: Course | CourseRequest) -> Document:
    raw = model.model_dump()
    return {key: value for key, value in raw.items() if key not in _NOT_SET}


def _entries(entries: Sequence[HistoryEntry]) -> list[Document]:
    return [entry.model_dump() for entry in entries]


def course_from(document: Document) -> Course:
    return Course.model_validate({**document, "code": document["_id"]})


def request_from(document: Document) -> CourseRequest:
    return CourseRequest.model_validate({**document, "number": document["_id"]})


class CourseStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.courses = db[COURSES]
        self.requests = db[REQUESTS]
        self.passes = db[PASSES]
        self._outbox = outbox
        self.proofs = FileBucket(db, PROOFS_BUCKET)

    # ---- courses ---------------------------------------------------------------------------

    async def insert_course(self, course: Course) -> None:
        await self.courses.insert_one(
            {"_id": course.code, **_fields(course), "version": course.version,
             "history": _entries(course.history)}
        )  # fmt: skip

    async def course(self, code: str) -> Course | None:
        document = await self.courses.find_one({"_id": code})
        return None if document is None else course_from(document)

    async def save_course(
        self, before: Course, after: Course, entries: Sequence[HistoryEntry] = ()
    ) -> Course:
        update: dict[str, Any] = {"$set": _fields(after), "$inc": {"version": 1}}
        if entries:
            update["$push"] = {"history": {"$each": _entries(entries)}}
        result = await self.courses.update_one(
            {"_id": before.code, "version": before.version}, update
        )
        if result.matched_count == 0:
            raise StaleVersion(before.code)
        return after.model_copy(update={"version": before.version + 1})

    async def clear_sync(self, course: Course) -> bool:
        """Done syncing: clear the flag unless the course changed meanwhile."""
        result = await self.courses.update_one(
            {"_id": course.code, "version": course.version}, {"$set": {SYNC_AT: None}}
        )
        return result.modified_count == 1

    async def list_courses(self, statuses: Sequence[str]) -> list[Course]:
        cursor = self.courses.find({"status": {"$in": list(statuses)}}).sort("starts_at", 1)
        return [course_from(document) async for document in cursor.limit(200)]

    # ---- requests --------------------------------------------------------------------------

    async def insert_request(self, request: CourseRequest) -> None:
        """Insert a new request with the `Idempotency-Key` of the POST creating it."""
        await self.requests.insert_one(idempotency.stamp(
            {"_id": request.number, **_fields(request), "version": request.version,
             SEAT_CHECK_AT: request.seat_check_at, "history": _entries(request.history)}
        ))  # fmt: skip

    async def request_created_under(self, key_id: str) -> CourseRequest | None:
        """The request a POST with this idempotency key id created, if it got stored."""
        document = await idempotency.find_stamped(self.requests, key_id)
        return None if document is None else request_from(document)

    async def delete_request(self, number: str) -> bool:
        """Remove a request that never took its seat (untouched since it was stored)."""
        result = await self.requests.delete_one({"_id": number, "version": 1})
        return result.deleted_count == 1

    async def seated(self, number: str, events: Sequence[CloudEvent]) -> None:
        """The request holds its seat: clear the seat check and stage its first events, once."""
        result = await self.requests.update_one(
            {"_id": number, SEAT_CHECK_AT: {"$ne": None}},
            self._outbox.stage({"$set": {SEAT_CHECK_AT: None}}, events),
        )
        if result.modified_count:
            self._outbox.written(REQUESTS, number)

    async def clear_seat_check(self, number: str) -> None:
        await self.requests.update_one({"_id": number}, {"$set": {SEAT_CHECK_AT: None}})

    async def request(self, number: str) -> CourseRequest | None:
        document = await self.requests.find_one({"_id": number})
        return None if document is None else request_from(document)

    async def save_request(
        self,
        before: CourseRequest,
        after: CourseRequest,
        entries: Sequence[HistoryEntry],
        events: Sequence[CloudEvent],
    ) -> CourseRequest:
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
        return after.model_copy(update={"version": before.version + 1})

    async def requests_of_course(
        self, code: str, status: str | None, limit: int, offset: int
    ) -> list[CourseRequest]:
        query: dict[str, Any] = {"course_code": code}
        if status:
            query["status"] = status
        cursor = self.requests.find(query).sort("created_at", 1).skip(offset).limit(limit)
        return [request_from(document) async for document in cursor]

    async def requests_of_owner(self, owner: str, limit: int, offset: int) -> list[CourseRequest]:
        cursor = (
            self.requests.find({"owner_subject": owner})
            .sort("created_at", -1)
            .skip(offset)
            .limit(limit)
        )
        return [request_from(document) async for document in cursor]

    # ---- placement-test passes -------------------------------------------------------------

    @staticmethod
    def pass_key(person: str, subject_code: str) -> str:
        return f"{person}:{subject_code}"

    async def has_pass(self, person: str, subject_code: str) -> bool:
        found = await self.passes.find_one({"_id": self.pass_key(person, subject_code)})
        return found is not None

    async def record_pass(
        self, person: str, subject_code: str, request_number: str, at: datetime
    ) -> None:
        try:
            await self.passes.insert_one(
                {
                    "_id": self.pass_key(person, subject_code),
                    "request_number": request_number,
                    "passed_at": at,
                }
            )
        except DuplicateKeyError:
            pass  # remembered already: the first pass stands
