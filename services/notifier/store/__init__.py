"""Every query of the notifier, over its own database: one collection, `messages`.

A message is one document: what was sent, to whom, for which event, its state with the time of
each step (`history`, appended, never rewritten), and the `notifier.sms.failed.v1` event of a
message that finally failed, in the same update (the outbox). Two fields are deadlines, each
found by a sweeper that claims due messages with a lease: `next_attempt_at` (the sender) and
`confirm_by` (a sent message that was never confirmed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from contracts import CloudEvent
from services.common.mongo import Database, Document, IndexSpec, purpose
from services.common.outbox import Outbox
from services.common.sweeper import deadline_index
from services.notifier.domain import STARTS_AT_ONCE, Message, Progress, Status, Step

MESSAGES = "messages"
NEXT_ATTEMPT = "next_attempt_at"
CONFIRM_BY = "confirm_by"
SEND_LEASE_UNTIL = "send_lease_until"
SEND_LEASE_OWNER = "send_lease_owner"
# Who holds the lease across restarts (host and port): a restarted sender takes back at once what
# its previous run held, instead of waiting out the lease.
SEND_LEASE_HOLDER = "send_lease_holder"

INDEXES = [
    # Exactly once: one message per (event, template); a redelivered event finds it.
    IndexSpec(MESSAGES, [("event_id", 1), ("template", 1)], unique=True, name="once_per_event"),
    deadline_index(MESSAGES, NEXT_ATTEMPT),
    deadline_index(MESSAGES, CONFIRM_BY),
    # Staff's searches and the citizen's own list, newest first.
    IndexSpec(MESSAGES, [("phone", 1), ("created_at", -1)]),
    IndexSpec(MESSAGES, [("request_number", 1), ("created_at", -1)]),
    IndexSpec(MESSAGES, [("status", 1), ("created_at", -1)]),
    IndexSpec(MESSAGES, [("owner_subject", 1), ("created_at", -1)]),
    IndexSpec(MESSAGES, [("created_at", -1)]),
]


@dataclass(frozen=True)
class MessageCriteria:
    """A search; every criterion given must hold."""

    phone: str | None = None
    request_number: str | None = None
    status: Status | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    owner_subject: str | None = None

    def query(self) -> Document:
        query: Document = {}
        for name in ("phone", "request_number", "owner_subject"):
            value = getattr(self, name)
            if value is not None:
                query[name] = value
        if self.status is not None:
            query["status"] = self.status.value
        created: Document = {}
        if self.created_from is not None:
            created["$gte"] = self.created_from
        if self.created_to is not None:
            created["$lt"] = self.created_to
        if created:
            query["created_at"] = created
        return query


@dataclass(frozen=True)
class Claimed:
    """A message the sender holds. `started`: the claim also recorded the start of its attempt
    (`sending`), so the message goes to the gateway next."""

    document: Document
    started: bool


class MessageStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.messages = db[MESSAGES]
        self._outbox = outbox

    async def add(
        self, message: Message, progress: Progress, events: Sequence[CloudEvent] = ()
    ) -> bool:
        """Store a new message in the state `progress` reached; False if it exists already."""
        document = _to_document(message)
        document["version"] = 1
        update = _progress_update(progress)
        document.update(update["$set"])
        document["history"] = update["$push"]["history"]["$each"]
        try:
            await self._outbox.insert_new(self.messages, document, events)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, message_id: str) -> Message | None:
        document = await self.messages.find_one({"_id": message_id}, {"outbox": 0})
        return None if document is None else from_document(document)

    async def record(
        self,
        message: Message,
        progress: Progress,
        *,
        events: Sequence[CloudEvent] = (),
        provider_id: str | None = None,
        forget_sealed_text: bool = False,
    ) -> int:
        """Record `progress` on `message` if nobody changed it since it was read (its version
        afterwards); `StaleVersion` if somebody did.

        Any state but `sending` also ends a sender's claim on the message (in the same write):
        none of them leaves the message due at once, so no second sender can take it early.
        """
        update = _progress_update(progress)
        if progress.status is not Status.SENDING:
            update.setdefault("$unset", {}).update(
                {SEND_LEASE_UNTIL: "", SEND_LEASE_OWNER: "", SEND_LEASE_HOLDER: ""}
            )
        if provider_id is not None:
            update["$set"]["provider_id"] = provider_id
        if forget_sealed_text:
            update.setdefault("$unset", {})["sealed_text"] = ""
        return await self._outbox.save_versioned(
            self.messages, message.id, message.version, update, events
        )

    # ---- the sender's queries ----------------------------------------------------------------

    async def due(self, now: datetime, limit: int) -> list[str]:
        """The ids of the messages due for sending now and not held by a sender, oldest first.
        Its commands are counted under the purpose `sender.scan` (`mongo_commands_total`)."""
        with purpose("sender.scan"):
            cursor = (
                self.messages.find({NEXT_ATTEMPT: {"$lte": now}, **_lease_free(now)}, {"_id": 1})
                .sort([(NEXT_ATTEMPT, 1)])
                .limit(limit)
            )
            return [document["_id"] async for document in cursor]

    async def claim(
        self, message_id: str, now: datetime, owner: str, until: datetime, holder: str = ""
    ) -> Claimed | None:
        """Hold a due message for sending until `until`; None if it is not due or held.
        `owner` is the sender's run, `holder` the sender's lasting identity (host and port).

        A message whose attempt starts at once (queued, or a temporary failure, and not expired:
        `domain.STARTS_AT_ONCE`) is held and recorded `sending` in one write, as
        `domain.start_attempt` would record it: attempt + 1, its step in the history, the version
        raised. Any other due message (found `sending` after a crash, or expired) is only held,
        by a second command, and the service records what `start_attempt` decides."""
        lease = {SEND_LEASE_UNTIL: until, SEND_LEASE_OWNER: owner, SEND_LEASE_HOLDER: holder}
        due = {"_id": message_id, NEXT_ATTEMPT: {"$lte": now}}
        started = await self.messages.find_one_and_update(
            {
                **due,
                "status": {"$in": [status.value for status in STARTS_AT_ONCE]},
                "$and": [_lease_free(now), _not_expired(now)],
            },
            _attempt_started(now, lease),
            return_document=ReturnDocument.AFTER,
        )
        if started is not None:
            return Claimed(started, started=True)
        held = await self.messages.find_one_and_update(
            {**due, **_lease_free(now)}, {"$set": lease}, return_document=ReturnDocument.AFTER
        )
        return None if held is None else Claimed(held, started=False)

    async def release_previous_run(self, holder: str, owner: str) -> list[str]:
        """End the leases a previous run of this sender (the same `holder`, another `owner`)
        still has: it was killed mid-attempt, and nobody else can be sending as `holder` (one
        process has a host and port at a time). Returns the ids of the messages released."""
        query = {SEND_LEASE_HOLDER: holder, SEND_LEASE_OWNER: {"$ne": owner}}
        held = [document["_id"] async for document in self.messages.find(query, {"_id": 1})]
        for message_id in held:
            await self.messages.update_one(
                {"_id": message_id, **query},
                {"$unset": {SEND_LEASE_UNTIL: "", SEND_LEASE_OWNER: "", SEND_LEASE_HOLDER: ""}},
            )
        return held

    async def clear_deadline(self, message: Message, field: str) -> None:
        """Drop a deadline that no longer applies (the message moved on by another way)."""
        await self.messages.update_one(
            {"_id": message.id, "version": message.version},
            {
                "$unset": {
                    field: "",
                    SEND_LEASE_UNTIL: "",
                    SEND_LEASE_OWNER: "",
                    SEND_LEASE_HOLDER: "",
                }
            },
        )

    async def search(
        self, criteria: MessageCriteria, *, skip: int, limit: int
    ) -> tuple[list[Message], int]:
        """A page of the messages matching, newest first, and how many match in all."""
        query = criteria.query()
        cursor = (
            self.messages.find(query, {"outbox": 0})
            .sort([("created_at", -1), ("_id", 1)])
            .skip(skip)
            .limit(limit)
        )
        found = [from_document(document) async for document in cursor]
        total = await self.messages.count_documents(query)
        return found, total


def _lease_free(now: datetime) -> Document:
    return {"$or": [{SEND_LEASE_UNTIL: None}, {SEND_LEASE_UNTIL: {"$lte": now}}]}


def _not_expired(now: datetime) -> Document:
    return {"$or": [{"expires_at": None}, {"expires_at": {"$gt": now}}]}


def _attempt_started(now: datetime, lease: Document) -> dict[str, Any]:
    """The update of `MessageStore.record` for `start_attempt`'s one `sending` step, with the
    lease; the attempts and the version are raised by one without reading them first."""
    update = _progress_update(Progress((Step(Status.SENDING, now),), 0, now))
    del update["$set"]["attempts"]
    update["$set"].update(lease)
    update["$inc"] = {"attempts": 1, "version": 1}
    return update


def _progress_update(progress: Progress) -> dict[str, Any]:
    last = progress.steps[-1]
    set_: Document = {
        "status": progress.status.value,
        "attempts": progress.attempts,
        "updated_at": last.at,
    }
    unset: Document = {}
    for step in progress.steps:
        set_[f"{step.status.field_prefix}_at"] = step.at
    for name, value in (
        ("reason", last.reason),
        (NEXT_ATTEMPT, progress.next_attempt_at),
        (CONFIRM_BY, progress.confirm_by),
    ):
        if value is None:
            unset[name] = ""
        else:
            set_[name] = value
    history = [_step_document(step) for step in progress.steps]
    update: dict[str, Any] = {
        "$set": set_,
        "$push": {"history": {"$each": history}},
    }
    if unset:
        update["$unset"] = unset
    return update


def _step_document(step: Step) -> Document:
    document: Document = {"status": step.status.value, "at": step.at}
    if step.reason is not None:
        document["reason"] = step.reason
    return document


_OPTIONAL = ("request_number", "owner_subject", "sealed_text", "expires_at", "traceparent")


def _to_document(message: Message) -> Document:
    document: Document = {
        "_id": message.id,
        "event_id": message.event_id,
        "event_type": message.event_type,
        "template": message.template,
        "lang": message.lang,
        "phone": message.phone,
        "phone_masked": message.phone_masked,
        "text": message.text,
        "is_sensitive": message.is_sensitive,
        "encoding": message.encoding,
        "characters": message.characters,
        "segments": message.segments,
        "created_at": message.created_at,
    }
    for name in _OPTIONAL:
        value = getattr(message, name)
        if value is not None:
            document[name] = value
    return document


def from_document(document: Document) -> Message:
    return Message(
        id=document["_id"],
        event_id=document["event_id"],
        event_type=document["event_type"],
        template=document["template"],
        lang=document["lang"],
        phone=document["phone"],
        text=document["text"],
        encoding=document["encoding"],
        characters=int(document["characters"]),
        segments=int(document["segments"]),
        created_at=document["created_at"],
        is_sensitive=bool(document.get("is_sensitive", False)),
        request_number=document.get("request_number"),
        owner_subject=document.get("owner_subject"),
        sealed_text=document.get("sealed_text"),
        expires_at=document.get("expires_at"),
        traceparent=document.get("traceparent"),
        status=Status(document["status"]),
        attempts=int(document.get("attempts", 0)),
        version=int(document["version"]),
        reason=document.get("reason"),
        provider_id=document.get("provider_id"),
        history=tuple(
            Step(Status(step["status"]), step["at"], step.get("reason"))
            for step in document.get("history", ())
        ),
    )
