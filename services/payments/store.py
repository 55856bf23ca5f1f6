"""Every query of the payments service, and the indexes they need.

Three collections:
- `bills`: one document per bill, `_id` = the e-payment number (what payers and the provider
  use), with a unique index on the payment reference as the database's own guard of "one bill per
  reference". A bill's refunds and timeline live inside it, so a change and the events it raises
  are one document update, guarded by the bill's `version`.
- `bill_keys`: a refund's key (`refund:<refund reference>`) -> the e-payment number of its bill,
  bound once the refund is stored. A bill is found by its payment reference through the
  reference's unique index itself (one query; the local FerretDB's PostgreSQL backend serves it
  from the index's GIN companion, `deploy/ferretdb/README.md`), so issuing a bill is one write.
  Earlier versions also bound `payment:<reference>` keys here: they are left as they are and no
  longer read.
- `payment_notifications`: one document per provider transaction (`_id` = `<provider>:<id>`),
  accepted or refused: the reconciliation record, and what makes a repeated notification answer
  the same.

A bill's change that pays it also stages its receipt (`documents_due`, in the same write); the
shared issuer renders it into the `documents` collection and its GridFS bucket
(`services/common/documents`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from contracts import CloudEvent
from services.common.documents import DocumentStore, Due, stage_documents
from services.common.mongo import Collection, Database, Document, IndexSpec
from services.common.outbox import OUTBOX_FIELD, Outbox
from services.common.sweeper import deadline_index
from services.payments.domain import (
    PAYMENT_PROVIDER,
    SYSTEM,
    Bill,
    BillAction,
    BillStatus,
    Notification,
    Refund,
    RefundStatus,
)

BILLS = "bills"
KEYS = "bill_keys"
NOTIFICATIONS = "payment_notifications"
EXPIRES_AT = "expires_at"

INDEXES = [
    IndexSpec(BILLS, [("payment_reference", 1)], unique=True, name="one_bill_per_reference"),
    IndexSpec(BILLS, [("owner_subject", 1), ("issued_at", -1)], name="citizen_bills"),
    IndexSpec(BILLS, [("status", 1), ("issued_at", -1)], name="bills_by_status"),
    IndexSpec(BILLS, [("issued_at", -1)], name="bills_by_issue"),
    IndexSpec(BILLS, [("closed_at", 1)], sparse=True, name="bills_by_close"),
    deadline_index(BILLS, EXPIRES_AT),
    IndexSpec(NOTIFICATIONS, [("accepted", 1), ("received_at", -1)], name="exceptions"),
    IndexSpec(NOTIFICATIONS, [("notice.e_payment_number", 1)], name="notifications_by_bill"),
]


def refund_key(refund_reference: str) -> str:
    return f"refund:{refund_reference}"


@dataclass(frozen=True)
class BillQuery:
    status: BillStatus | None = None
    service: str | None = None
    service_type: str | None = None
    issued_from: datetime | None = None
    issued_to: datetime | None = None
    owner_subject: str | None = None
    has_refund_status: RefundStatus | None = None

    def filter(self) -> Document:
        query: Document = {}
        if self.status is not None:
            query["status"] = str(self.status)
        if self.service is not None:
            query["requesting_service"] = self.service
        if self.service_type is not None:
            query["service_type"] = self.service_type
        if self.owner_subject is not None:
            query["owner_subject"] = self.owner_subject
        if self.has_refund_status is not None:
            query["refunds.status"] = str(self.has_refund_status)
        issued: Document = {}
        if self.issued_from is not None:
            issued["$gte"] = self.issued_from
        if self.issued_to is not None:
            issued["$lt"] = self.issued_to
        if issued:
            query["issued_at"] = issued
        return query


def to_document(bill: Bill) -> Document:
    document: Document = bill.model_dump(mode="python", exclude={"e_payment_number"})
    document["_id"] = bill.e_payment_number
    if bill.expires_at is not None:
        document[EXPIRES_AT] = bill.expires_at
    return document


def to_bill(document: Document) -> Bill:
    # The outbox's, the sweeper's and `expires_at` fields are not the bill's: ignored.
    history = [{"role": _role_of(entry), **entry} for entry in document.get("history", ())]
    return Bill.model_validate(
        {**document, "e_payment_number": document["_id"], "history": history}
    )


def _role_of(entry: Document) -> str:
    """The role of a timeline line stored before lines recorded one: only the provider pays, and
    a finance approver decides refunds; the rest is the system."""
    if entry.get("action") == BillAction.PAY:
        return PAYMENT_PROVIDER
    if entry.get("action") in ("refund.approve", "refund.reject"):
        return "finance.approver"
    return SYSTEM


class BillStore:
    def __init__(
        self, db: Database, outbox: Outbox, documents: DocumentStore | None = None
    ) -> None:
        self.outbox = outbox
        self.documents = documents
        self.bills: Collection = db[BILLS]
        self.keys: Collection = db[KEYS]
        self.notifications: Collection = db[NOTIFICATIONS]

    # ---- keys --------------------------------------------------------------------------------

    async def number_for(self, key: str) -> str | None:
        document = await self.keys.find_one({"_id": key})
        return None if document is None else str(document["e_payment_number"])

    async def bind(self, key: str, e_payment_number: str) -> None:
        """Bind `key` to the number of the bill stored for it (again: the same number; or over
        a number whose bill was never stored, which an earlier version bound before inserting)."""
        await self.keys.update_one(
            {"_id": key}, {"$set": {"e_payment_number": e_payment_number}}, upsert=True
        )

    # ---- bills -------------------------------------------------------------------------------

    async def add(self, bill: Bill, events: Sequence[CloudEvent]) -> bool:
        """Insert a new bill with its first events; False if its number or reference is taken
        (the caller reads again what won)."""
        try:
            await self.outbox.insert_new(self.bills, to_document(bill), events)
        except DuplicateKeyError:
            return False
        return True

    async def save(
        self,
        version: int,
        bill: Bill,
        events: Sequence[CloudEvent],
        documents: Sequence[Due] = (),
    ) -> Bill:
        """Write `bill` over the stored `version` it was decided on, with its events and the
        documents it issues (the receipt) staged, all in one write; the bill as stored (at the
        next version). `StaleVersion` if someone else changed it first. Then the document issuer
        is woken."""
        if documents and self.documents is None:
            raise RuntimeError("documents staged by a store without the document machinery")
        document = to_document(bill)
        document.pop("_id")
        document.pop("version")
        update: dict[str, Any] = {"$set": document}
        if bill.expires_at is None:
            update["$unset"] = {EXPIRES_AT: ""}
        saved = await self.outbox.save_versioned(
            self.bills, bill.e_payment_number, version, stage_documents(update, documents), events
        )
        if documents and self.documents is not None:
            self.documents.written(BILLS, bill.e_payment_number)
        return bill.model_copy(update={"version": saved})

    async def by_number(self, e_payment_number: str) -> Bill | None:
        document = await self.bills.find_one({"_id": e_payment_number}, {OUTBOX_FIELD: 0})
        return None if document is None else to_bill(document)

    async def by_key(self, key: str) -> Bill | None:
        number = await self.number_for(key)
        return None if number is None else await self.by_number(number)

    async def by_reference(self, payment_reference: str) -> Bill | None:
        """The bill of a payment reference, by the reference's unique index."""
        document = await self.bills.find_one(
            {"payment_reference": payment_reference}, {OUTBOX_FIELD: 0}
        )
        return None if document is None else to_bill(document)

    async def by_refund_reference(self, refund_reference: str) -> Bill | None:
        return await self.by_key(refund_key(refund_reference))

    async def search(self, query: BillQuery, *, skip: int, limit: int) -> tuple[list[Bill], int]:
        """A page of bills, newest first, and how many match in all."""
        condition = query.filter()
        total = await self.bills.count_documents(condition)
        cursor = (
            self.bills.find(condition, {OUTBOX_FIELD: 0})
            .sort([("issued_at", DESCENDING), ("_id", DESCENDING)])
            .skip(skip)
            .limit(limit)
        )
        return [to_bill(document) async for document in cursor], total

    async def refunds(
        self, status: RefundStatus, *, skip: int, limit: int
    ) -> tuple[list[tuple[Bill, Refund]], int]:
        """A page of the refunds in `status`, each with its bill, newest request first, and how
        many there are in all."""
        each: list[Document] = [
            {"$match": {"refunds.status": str(status)}},
            {"$project": {"refunds": 1}},
            {"$unwind": "$refunds"},
            {"$match": {"refunds.status": str(status)}},
        ]
        counted = [row async for row in await self.bills.aggregate([*each, {"$count": "n"}])]
        total = int(counted[0]["n"]) if counted else 0
        ordered: list[Document] = [
            {"$sort": {"refunds.requested_at": -1, "refunds.refund_reference": -1}},
            {"$skip": skip},
            {"$limit": limit},
        ]
        found = []
        async for row in await self.bills.aggregate([*each, *ordered]):
            bill = await self.by_number(str(row["_id"]))
            refund = None if bill is None else bill.refund(str(row["refunds"]["refund_reference"]))
            if bill is not None and refund is not None:
                found.append((bill, refund))
        return found, total

    async def touched_between(self, start: datetime, end: datetime) -> list[Bill]:
        """Bills issued, closed, or with a refund decided in [start, end): a day's movements."""
        window = {"$gte": start, "$lt": end}
        cursor = self.bills.find(
            {
                "$or": [
                    {"issued_at": window},
                    {"closed_at": window},
                    {"refunds.decided_at": window},
                ]
            },
            {OUTBOX_FIELD: 0},
        )
        return [to_bill(document) async for document in cursor]

    # ---- payment notifications ---------------------------------------------------------------

    async def notification(self, key: str) -> Notification | None:
        document = await self.notifications.find_one({"_id": key})
        return None if document is None else _to_notification(document)

    async def record_notification(self, notification: Notification) -> Notification:
        """Store the outcome of a notification; the first one stored for a transaction stands."""
        document = notification.model_dump(mode="python")
        document["_id"] = notification.key
        try:
            await self.notifications.insert_one(document)
        except DuplicateKeyError:
            stored = await self.notification(notification.key)
            assert stored is not None  # a duplicate key means it exists
            return stored
        return notification

    async def exceptions(
        self, *, start: datetime | None, end: datetime | None, skip: int, limit: int
    ) -> tuple[list[Notification], int]:
        condition: Document = {"accepted": False}
        received: Document = {}
        if start is not None:
            received["$gte"] = start
        if end is not None:
            received["$lt"] = end
        if received:
            condition["received_at"] = received
        total = await self.notifications.count_documents(condition)
        cursor = (
            self.notifications.find(condition)
            .sort([("received_at", DESCENDING), ("_id", DESCENDING)])
            .skip(skip)
            .limit(limit)
        )
        return [_to_notification(document) async for document in cursor], total

    async def exceptions_between(self, start: datetime, end: datetime) -> list[Notification]:
        cursor = self.notifications.find(
            {"accepted": False, "received_at": {"$gte": start, "$lt": end}}
        )
        return [_to_notification(document) async for document in cursor]


def _to_notification(document: Document) -> Notification:
    return Notification.model_validate(document)
