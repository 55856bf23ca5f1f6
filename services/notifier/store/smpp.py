"""The SMPP gateway's own records (`NOTIFIER_GATEWAY=smpp`, see `smpp_gateway.py`): which
message each SMSC message id belongs to (`smpp_parts`), and the messages whose submit went
unanswered, held until a receipt decides them (`smpp_held`)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from services.common.mongo import Database, IndexSpec
from services.notifier import smpp

PARTS = "smpp_parts"
HELD = "smpp_held"
INDEXES = [IndexSpec(HELD, [("phone", 1), ("held_at", 1)])]
# What a database that is down or failing raises: the gateway answers the SMSC "try again".
DatabaseError = PyMongoError


class SmppStore:
    """Which message each SMSC message id belongs to, and the messages held unanswered."""

    def __init__(self, db: Database) -> None:
        self.parts = db[PARTS]
        self.held = db[HELD]

    async def accepted(self, reference: str, smsc_ids: list[str]) -> None:
        """One write a message: a document a part, each naming all the parts."""
        now = datetime.now(UTC)
        documents = [
            {"_id": smsc_id, "message": reference, "ids": smsc_ids, "at": now}
            for smsc_id in smsc_ids
        ]
        with contextlib.suppress(BulkWriteError):  # already recorded (a repeated id)
            await self.parts.insert_many(documents, ordered=False)

    async def hold(self, reference: str, phone: str, parts: int) -> None:
        """`parts` of the message went unanswered; each may still bring a receipt. No text is
        kept: a one-time code would be readable here."""
        await self.held.update_one(
            {"_id": reference},
            {"$set": {"phone": phone, "held_at": datetime.now(UTC), "remaining": parts}},
            upsert=True,
        )

    async def not_held(self, reference: str) -> None:
        """A message sent again (after a retry) is no longer waiting as held."""
        if await self.held.find_one({"_id": reference}, {"_id": 1}) is not None:
            await self.release(reference)

    async def release(self, reference: str) -> None:
        await self.held.delete_one({"_id": reference})

    async def message_of(self, receipt: smpp.Receipt) -> tuple[str, list[str]] | None:
        """The message reference and all its parts' ids, by the receipt's SMSC id, or else the
        oldest message held for the receipt's number."""
        found = await self.parts.find_one({"_id": receipt.smsc_message_id})
        if found is not None:
            return str(found["message"]), [str(part) for part in found["ids"]]
        if not receipt.phone:
            return None
        held = await self.held.find_one_and_update(
            {"phone": receipt.phone, "remaining": {"$gt": 0}},
            {"$inc": {"remaining": -1}},
            sort=[("held_at", 1)],
        )
        if held is None:
            return None
        reference = str(held["_id"])
        ids = [receipt.smsc_message_id]
        # Known from now on: the same receipt sent again finds its message by its id.
        with contextlib.suppress(DuplicateKeyError):
            await self.parts.insert_one(
                {"_id": receipt.smsc_message_id, "message": reference, "ids": ids, "held": True}
            )
        return reference, ids

    async def all_delivered(self, smsc_id: str, ids: list[str]) -> bool:
        if len(ids) <= 1:
            return True
        await self.parts.update_one({"_id": smsc_id}, {"$set": {"state": "DELIVRD"}})
        # One read by primary key a part: a MongoDB-protocol server without usable secondary
        # indexes (FerretDB v1) reads the whole collection for an `$in` (measured: 70 ms).
        for part in ids:
            found = await self.parts.find_one({"_id": part}, {"state": 1})
            if found is None or found.get("state") != "DELIVRD":
                return False
        return True
