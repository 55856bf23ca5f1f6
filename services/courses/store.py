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
from services.common.documents import DocumentStore, Due, stage_documents
from services.common.files import FileBucket
from services.common.mongo import Collection, Database, Document, IndexSpec, request_number
from services.common.outbox import Outbox
from services.common.pending_bill import PendingBillFields, record_pending_bill
from services.common.sweeper import deadline_index
from services.courses.domain import (
    COURSE_PREFIX,
    REQUEST_PREFIX,
    Course,
    CourseRequest,
    TimelineEntry,
)

COURSES = "courses"
REQUESTS = "requests"
# Where a request keeps its bill (`record_bill`).
PENDING_BILL = PendingBillFields("payment_reference", "e_payment_number")
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

# Kept out of `$set`: the version is the versioned save's, the history appended to, the key is
# `_id`. Only model fields are set, so what others write on the same document (the outbox, the
# sweepers' leases) is never overwritten.
# The seat check is cleared only by `seated` and `clear_seat_check`, never by a later save.
_NOT_SET = frozenset({"version", "history", "number", "code", SEAT_CHECK_AT})


def _fields(model: Course | CourseRequest) -> Document:
    raw = model.model_dump()
    return {key: value for key, value in raw.items() if key not in _NOT_SET}


def _entries(entries: Sequence[TimelineEntry]) -> list[Document]:
    return [entry.model_dump() for entry in entries]


def _update(before: Course | CourseRequest, after: Course | CourseRequest) -> dict[str, Any]:
    """The fields of `after`, and the timeline lines it gained over `before` appended."""
    update: dict[str, Any] = {"$set": _fields(after)}
    gained = after.history[len(before.history) :]
    if gained:
        update["$push"] = {"history": {"$each": _entries(gained)}}
    return update


def course_from(document: Document) -> Course:
    return Course.model_validate({**document, "code": document["_id"]})


def request_from(document: Document) -> CourseRequest:
    return CourseRequest.model_validate({**document, "number": document["_id"]})


class CourseStore:
    def __init__(self, db: Database, outbox: Outbox, documents: DocumentStore | None) -> None:
        self._db = db
        self._documents = documents
        self.courses: Collection = db[COURSES]
        self.requests: Collection = db[REQUESTS]
        self.passes = db[PASSES]
        self._outbox = outbox
        self.proofs = FileBucket(db, PROOFS_BUCKET)

    async def new_course_code(self, now: datetime) -> str:
        """`CO-<year>-<6 digits>`, the next of the year."""
        return await request_number(self._db, COURSE_PREFIX, now)

    async def new_request_number(self, now: datetime) -> str:
        """`CR-<year>-<6 digits>`, the next of the year."""
        return await request_number(self._db, REQUEST_PREFIX, now, ahead=True)

    # ---- courses ---------------------------------------------------------------------------

    async def insert_course(self, course: Course) -> None:
        await self.courses.insert_one(
            {"_id": course.code, **_fields(course), "version": course.version,
             "history": _entries(course.history)}
        )  # fmt: skip

    async def course(self, code: str) -> Course | None:
        document = await self.courses.find_one({"_id": code})
        return None if document is None else course_from(document)

    async def save_course(self, before: Course, after: Course) -> Course:
        """Write `after` over the version `before` was loaded at (`StaleVersion` if it moved)."""
        version = await self._outbox.save_versioned(
            self.courses, before.code, before.version, _update(before, after)
        )
        return after.model_copy(update={"version": version})

    async def clear_sync(self, course: Course) -> None:
        """Done syncing: clear the flag unless the course changed meanwhile (then a change set
        it again, and the sweeper comes back). The version stays: nothing a writer decides on
        changed."""
        await self.courses.update_one(
            {"_id": course.code, "version": course.version}, {"$set": {SYNC_AT: None}}
        )

    async def list_courses(
        self, statuses: Sequence[str], skip: int, limit: int
    ) -> tuple[list[Course], int]:
        """The courses in `statuses`, soonest first: one page, and how many there are."""
        query = {"status": {"$in": list(statuses)}}
        cursor = self.courses.find(query).sort([("starts_at", 1), ("_id", 1)])
        found = [course_from(document) async for document in cursor.skip(skip).limit(limit)]
        return found, await self.courses.count_documents(query)

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

    async def record_bill(self, number: str, reference: str, e_payment_number: str) -> bool:
        """`domain.record_bill` in one conditional write (`services.common.pending_bill`)."""
        return await record_pending_bill(
            self.requests, number, PENDING_BILL, reference=reference,
            e_payment_number=e_payment_number,
        )  # fmt: skip

    async def request(self, number: str) -> CourseRequest | None:
        document = await self.requests.find_one({"_id": number})
        return None if document is None else request_from(document)

    async def save_request(
        self,
        before: CourseRequest,
        after: CourseRequest,
        events: Sequence[CloudEvent],
        documents: Sequence[Due] = (),
    ) -> CourseRequest:
        """Write `after` with its events and the documents it issues over the version `before`
        was loaded at (`StaleVersion` if it moved), then wake the document issuer."""
        update = stage_documents(_update(before, after), documents)
        version = await self._outbox.save_versioned(
            self.requests, before.number, before.version, update, events
        )
        if documents and self._documents is not None:
            self._documents.written(REQUESTS, before.number)
        return after.model_copy(update={"version": version})

    async def requests_of_course(
        self, code: str, status: str | None, skip: int, limit: int
    ) -> tuple[list[CourseRequest], int]:
        """A course's requests (of one status, if given) in the order they came: one page, and
        how many there are."""
        query: dict[str, Any] = {"course_code": code}
        if status:
            query["status"] = status
        cursor = self.requests.find(query).sort([("created_at", 1), ("_id", 1)])
        found = [request_from(document) async for document in cursor.skip(skip).limit(limit)]
        return found, await self.requests.count_documents(query)

    async def status_counts(self, code: str) -> dict[str, int]:
        """How many requests of the course are in each status (the statuses it has)."""
        cursor = await self.requests.aggregate(
            [{"$match": {"course_code": code}}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}]
        )
        return {str(row["_id"]): int(row["n"]) async for row in cursor}

    async def requests_of_owner(
        self, owner: str, skip: int, limit: int
    ) -> tuple[list[CourseRequest], int]:
        """A citizen's own requests, newest first: one page, and how many there are."""
        query = {"owner_subject": owner}
        cursor = self.requests.find(query).sort([("created_at", -1), ("_id", -1)])
        found = [request_from(document) async for document in cursor.skip(skip).limit(limit)]
        return found, await self.requests.count_documents(query)

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
