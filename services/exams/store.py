"""Every query of the exams service, and the indexes they need.

Three collections:
- `requests`: one document per request, `_id` = the request number (`EX-2026-000123`). Its
  timeline lives inside it, so a transition, the events it raises (the outbox) and the documents
  it issues or revokes (`documents_due`, done by the shared issuer) are one document update,
  guarded by the request's `version`.
- `sessions`: one document per official exam session, `_id` = the session number
  (`ES-2026-000012`), holding its candidates' request numbers; guarded by its `version` the same
  way. `overdue_check_at` is the overdue sweeper's field: set while the session waits for a date
  and has not been marked overdue, removed otherwise.
- `accepting_sessions`: per official exam (`_id` = the exam's code), the number of the session
  now taking candidates. Inserting it is what makes two candidates paying at once for an exam
  with no open session open one session, not two. It is only a pointer: the session document
  says whether the session still takes candidates, and a stale pointer is removed and replaced.

Every hot lookup is by `_id` (FerretDB reads the whole collection for any other filter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from contracts import CloudEvent
from services.common import idempotency
from services.common.documents import DocumentStore, Due, stage_documents
from services.common.mongo import Collection, Database, Document, IndexSpec, request_number
from services.common.outbox import OUTBOX_FIELD, Outbox
from services.common.pending_bill import PendingBillFields, record_pending_bill
from services.common.sweeper import deadline_index
from services.exams.domain import (
    REQUEST_PREFIX,
    SESSION_PREFIX,
    ExamRequest,
    ExamSession,
    RequestStatus,
    SessionStatus,
)

REQUESTS = "requests"
# Where a request keeps its fee's bill (`record_bill`).
PENDING_BILL = PendingBillFields("fee.payment_reference", "fee.e_payment_number")
SESSIONS = "sessions"
ACCEPTING = "accepting_sessions"
OVERDUE_CHECK_AT = "overdue_check_at"

INDEXES = [
    IndexSpec(REQUESTS, [("owner_subject", 1), ("submitted_at", -1)], name="citizen_requests"),
    IndexSpec(REQUESTS, [("status", 1), ("submitted_at", -1)], name="requests_by_status"),
    IndexSpec(REQUESTS, [("exam.code", 1), ("submitted_at", -1)], name="requests_by_exam"),
    IndexSpec(REQUESTS, [("session_number", 1)], sparse=True, name="requests_by_session"),
    IndexSpec(REQUESTS, [("submitted_at", -1)], name="requests_by_submission"),
    IndexSpec(SESSIONS, [("status", 1), ("date_due_at", 1)], name="sessions_by_status"),
    IndexSpec(SESSIONS, [("exam.code", 1), ("opened_at", -1)], name="sessions_by_exam"),
    IndexSpec(SESSIONS, [("candidates", 1)], name="sessions_by_candidate"),
    deadline_index(SESSIONS, OVERDUE_CHECK_AT),
    idempotency.key_index(REQUESTS),
]


@dataclass(frozen=True)
class RequestQuery:
    """A staff (or citizen) filter over requests."""

    owner_subject: str | None = None
    status: RequestStatus | None = None
    exam_code: str | None = None
    # Only these request numbers (a session's candidates: the session's list is the truth).
    among: Sequence[str] | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None

    def filter(self) -> Document:
        query: Document = {}
        if self.owner_subject is not None:
            query["owner_subject"] = self.owner_subject
        if self.status is not None:
            query["status"] = str(self.status)
        if self.exam_code is not None:
            query["exam.code"] = self.exam_code
        if self.among is not None:
            query["_id"] = {"$in": list(self.among)}
        submitted: Document = {}
        if self.submitted_from is not None:
            submitted["$gte"] = self.submitted_from
        if self.submitted_to is not None:
            submitted["$lt"] = self.submitted_to
        if submitted:
            query["submitted_at"] = submitted
        return query


@dataclass(frozen=True)
class SessionQuery:
    status: SessionStatus | None = None
    exam_code: str | None = None
    overdue_at: datetime | None = None

    def filter(self) -> Document:
        query: Document = {}
        if self.status is not None:
            query["status"] = str(self.status)
        if self.exam_code is not None:
            query["exam.code"] = self.exam_code
        if self.overdue_at is not None:
            # The rule itself, not the sweeper's mark: a session is overdue the instant its
            # deadline passes, even before the sweeper has come by.
            query["status"] = str(SessionStatus.AWAITING_DATE)
            query["date_due_at"] = {"$lte": self.overdue_at}
        return query


def _request_document(request: ExamRequest) -> Document:
    document: Document = request.model_dump(mode="python", exclude={"request_number"})
    document["_id"] = request.request_number
    return document


def _to_request(document: Document) -> ExamRequest:
    return ExamRequest.model_validate({**document, "request_number": document["_id"]})


def _session_document(session: ExamSession) -> Document:
    document: Document = session.model_dump(mode="python", exclude={"session_number"})
    document["_id"] = session.session_number
    if session.overdue_check_at is not None:
        document[OVERDUE_CHECK_AT] = session.overdue_check_at
    return document


def _to_session(document: Document) -> ExamSession:
    return ExamSession.model_validate({**document, "session_number": document["_id"]})


async def _page(
    collection: Collection, condition: Document, newest: str, skip: int, limit: int
) -> tuple[list[Document], int]:
    """One page of the documents matching `condition`, newest (by the field `newest`) first, and
    how many match in all."""
    total = await collection.count_documents(condition)
    cursor = (
        collection.find(condition, {OUTBOX_FIELD: 0})
        .sort([(newest, DESCENDING), ("_id", DESCENDING)])
        .skip(skip)
        .limit(limit)
    )
    return [document async for document in cursor], total


class ExamStore:
    def __init__(self, db: Database, outbox: Outbox, documents: DocumentStore) -> None:
        self._db = db
        self._outbox = outbox
        self._documents = documents
        self.requests: Collection = db[REQUESTS]
        self.sessions: Collection = db[SESSIONS]
        self.accepting: Collection = db[ACCEPTING]

    # ---- numbers -----------------------------------------------------------------------------

    async def new_request_number(self, now: datetime) -> str:
        return await request_number(self._db, REQUEST_PREFIX, now, ahead=True)

    async def new_session_number(self, now: datetime) -> str:
        return await request_number(self._db, SESSION_PREFIX, now)

    # ---- requests ----------------------------------------------------------------------------

    async def add_request(self, request: ExamRequest, events: Sequence[CloudEvent]) -> None:
        """Insert a new request with its first events (its number is new: no clash), and the
        `Idempotency-Key` of the POST creating it, in the same write."""
        document = idempotency.stamp(_request_document(request))
        await self._outbox.insert_new(self.requests, document, events)

    async def save_request(
        self,
        request: ExamRequest,
        events: Sequence[CloudEvent] = (),
        documents: Sequence[Due] = (),
    ) -> ExamRequest:
        """Write `request` over the stored version it was derived from, with its events and the
        documents it asks for, and return it at its new version; `StaleVersion` if someone else
        changed it first."""
        document = _request_document(request)
        del document["_id"], document["version"]
        update = stage_documents({"$set": document}, documents)
        version = await self._outbox.save_versioned(
            self.requests, request.request_number, request.version, update, events
        )
        if documents:
            self._documents.written(REQUESTS, request.request_number)
        return request.model_copy(update={"version": version})

    async def record_bill(self, number: str, reference: str, e_payment_number: str) -> bool:
        """`domain.record_bill` in one conditional write (`services.common.pending_bill`)."""
        return await record_pending_bill(
            self.requests, number, PENDING_BILL, reference=reference,
            e_payment_number=e_payment_number,
        )  # fmt: skip

    async def request(self, number: str) -> ExamRequest | None:
        document = await self.requests.find_one({"_id": number}, {OUTBOX_FIELD: 0})
        return None if document is None else _to_request(document)

    async def request_created_under(self, key_id: str) -> ExamRequest | None:
        """The request a POST with this idempotency key id created, if it got stored."""
        document = await idempotency.find_stamped(self.requests, key_id)
        return None if document is None else _to_request(document)

    async def search_requests(
        self, query: RequestQuery, *, skip: int, limit: int
    ) -> tuple[list[ExamRequest], int]:
        """A page of requests, newest first, and how many match in all."""
        found, total = await _page(self.requests, query.filter(), "submitted_at", skip, limit)
        return [_to_request(document) for document in found], total

    # ---- sessions ----------------------------------------------------------------------------

    async def add_session(self, session: ExamSession) -> bool:
        """Insert a new session; False if one with its number exists already."""
        try:
            await self.sessions.insert_one(_session_document(session))
        except DuplicateKeyError:
            return False
        return True

    async def save_session(
        self, session: ExamSession, events: Sequence[CloudEvent] = ()
    ) -> ExamSession:
        """Write `session` over the stored version it was derived from, with its events, and
        return it at its new version; `StaleVersion` if someone else changed it first."""
        document = _session_document(session)
        del document["_id"], document["version"]
        update: dict[str, Any] = {"$set": document}
        if session.overdue_check_at is None:
            update["$unset"] = {OVERDUE_CHECK_AT: ""}
        version = await self._outbox.save_versioned(
            self.sessions, session.session_number, session.version, update, events
        )
        return session.model_copy(update={"version": version})

    async def session(self, number: str) -> ExamSession | None:
        document = await self.sessions.find_one({"_id": number}, {OUTBOX_FIELD: 0})
        return None if document is None else _to_session(document)

    async def session_holding(self, request_number: str) -> ExamSession | None:
        """The session whose candidates include the request, if any."""
        document = await self.sessions.find_one({"candidates": request_number}, {OUTBOX_FIELD: 0})
        return None if document is None else _to_session(document)

    async def search_sessions(
        self, query: SessionQuery, *, skip: int, limit: int
    ) -> tuple[list[ExamSession], int]:
        """A page of sessions, newest first, and how many match in all."""
        found, total = await _page(self.sessions, query.filter(), "opened_at", skip, limit)
        return [_to_session(document) for document in found], total

    async def overdue_sessions(self, now: datetime) -> list[ExamSession]:
        cursor = self.sessions.find(SessionQuery(overdue_at=now).filter(), {OUTBOX_FIELD: 0})
        return [_to_session(document) async for document in cursor]

    async def sessions_awaiting_date(self, now: datetime, nearing: timedelta) -> dict[str, int]:
        """Sessions waiting for a date, by SLA: within, nearing (due within `nearing`), overdue."""
        waiting = {"status": str(SessionStatus.AWAITING_DATE)}
        overdue = await self.sessions.count_documents({**waiting, "date_due_at": {"$lte": now}})
        soon = await self.sessions.count_documents(
            {**waiting, "date_due_at": {"$gt": now, "$lte": now + nearing}}
        )
        total = await self.sessions.count_documents(waiting)
        return {"overdue": overdue, "nearing": soon, "within": total - overdue - soon}

    # ---- the accepting session of an exam ------------------------------------------------------

    async def accepting_session_number(self, exam_code: str) -> str | None:
        document = await self.accepting.find_one({"_id": exam_code})
        return None if document is None else str(document["session_number"])

    async def point_accepting(self, exam_code: str, session_number: str) -> str:
        """Make `session_number` the exam's accepting session unless one is already; return the
        number that is."""
        try:
            await self.accepting.insert_one({"_id": exam_code, "session_number": session_number})
        except DuplicateKeyError:
            bound = await self.accepting_session_number(exam_code)
            return (
                bound
                if bound is not None
                else await self.point_accepting(exam_code, session_number)
            )
        return session_number

    async def unpoint_accepting(self, exam_code: str, session_number: str) -> None:
        """Forget a session that takes no more candidates (only if it is still the one named)."""
        await self.accepting.delete_one({"_id": exam_code, "session_number": session_number})
