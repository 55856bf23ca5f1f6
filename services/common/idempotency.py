"""`Idempotency-Key` for POSTs that create something, as GOV.UK Pay does it, and crash-proof.

The portal double-submits, and a gateway retries a POST on a connection error, a 5xx or a 409. The
same key with the same body, from the same user, returns the first result (status and body) with
`Idempotent-Replayed: true`; the same key with a different body is a 409; a malformed key is a 422.
A failed first attempt (an error response) is forgotten, so the client may retry it.

What makes it hold whatever crashes when: the key is part of the single-document write that
creates the resource. While `create` runs, `stamp()` adds the key (and the body's fingerprint) to
the document the store inserts, and the store's collection has a unique index on it
(`key_index`). So:
- a process killed after the resource was stored, before the key record said "done": the retry
  finds the resource by its key (`stored`) and answers with it, never creating a second one;
- a process killed before anything was stored: the retry runs `create` again at once (there is no
  window of 409s to wait out);
- two attempts running at once (a client that gave up on the first): both may run `create`, the
  unique index lets one insert win, and the other answers with what the winner stored.
A key is bound to what it created for good: the record of the response (`idempotency_keys`) is
pruned after 24 hours, but the created document keeps its key, and the same key later answers with
it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from services.common.clock import Clock
from services.common.mongo import Collection, Database, Document, IndexSpec
from services.common.problems import Conflict, Invalid

COLLECTION = "idempotency_keys"
INDEXES = [IndexSpec(COLLECTION, [("created_at", 1)])]
WINDOW = timedelta(hours=24)
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAYED_HEADER = "Idempotent-Replayed"
# The fields `stamp` adds to a created document.
KEY_FIELD = "idempotency_key"
FINGERPRINT_FIELD = "idempotency_fingerprint"

# What `create` returns, and what `stored` finds: (HTTP status, body).
Outcome = tuple[int, Any]
Create = Callable[[], Awaitable[Outcome]]
# The resource created under a key id, answered as `create` would have answered it; None if
# nothing was stored under it.
Stored = Callable[[str], Awaitable[Outcome | None]]


@dataclass(frozen=True)
class Claim:
    """The key of the POST now creating something: its id (scope and key, hashed) and the body's
    fingerprint."""

    key_id: str
    fingerprint: str


_claim: ContextVar[Claim | None] = ContextVar("idempotency_claim", default=None)


def current() -> Claim | None:
    """The key of the POST whose `create` is running in this task, if it has one."""
    return _claim.get()


def stamp(document: Document) -> Document:
    """`document` (changed in place) with the running POST's key, for the insert that creates
    the resource: the key is then stored in the same single-document write."""
    claim = _claim.get()
    if claim is not None:
        document[KEY_FIELD] = claim.key_id
        document[FINGERPRINT_FIELD] = claim.fingerprint
    return document


def key_index(collection: str) -> IndexSpec:
    """The unique index that lets one document per key be created (documents created without
    a key have no such field: sparse)."""
    return IndexSpec(
        collection, [(KEY_FIELD, 1)], unique=True, sparse=True, name="one_per_idempotency_key"
    )


async def find_stamped(collection: Collection, key_id: str) -> Document | None:
    """The document created under `key_id`, if any (a retry's path, not the hot one)."""
    return await collection.find_one({KEY_FIELD: key_id})


def is_key_clash(error: DuplicateKeyError) -> bool:
    """Whether a DuplicateKeyError may come from `key_index` (MongoDB names the index; FerretDB
    names none, so any clash may be it)."""
    details = error.details or {}
    pattern = details.get("keyPattern")
    if isinstance(pattern, dict):
        return KEY_FIELD in pattern
    message = str(details.get("errmsg", error))
    return "index:" not in message or "one_per_idempotency_key" in message


class IdempotencyStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._collection = db[COLLECTION]
        self._clock = clock

    async def run(
        self,
        *,
        scope: str,
        key: str | None,
        payload: BaseModel | dict[str, Any],
        create: Create,
        stored: Stored,
    ) -> JSONResponse:
        """Run `create` once per (scope, key, payload); `create` returns (status, body) and its
        store stamps the created document (`stamp`); `stored` finds what a key created."""
        if key is None:
            status, body = await create()
            return JSONResponse(jsonable_encoder(body), status_code=status)
        if not KEY_PATTERN.match(key):
            raise Invalid(
                "Idempotency-Key must be 1 to 255 printable ASCII characters",
                "يجب أن يتكون مفتاح عدم التكرار من 1 إلى 255 حرفاً مطبوعاً",
                errors=[{"field": "header.Idempotency-Key", "location": "header"}],
            )
        claim = Claim(
            key_id=hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest(),
            fingerprint=_fingerprint(payload),
        )
        replay = await self._begin(claim, stored)
        if replay is not None:
            return replay
        token = _claim.set(claim)
        try:
            status, body = await create()
        except DuplicateKeyError as error:
            # Another attempt with this key stored its resource first: answer with that.
            found = await stored(claim.key_id) if is_key_clash(error) else None
            if found is None:
                await self._forget(claim.key_id)
                raise
            return await self._finish(claim.key_id, *found, replayed=True)
        except BaseException:
            await self._forget(claim.key_id)
            raise
        finally:
            _claim.reset(token)
        if status >= 400:
            await self._forget(claim.key_id)
            return JSONResponse(jsonable_encoder(body), status_code=status)
        return await self._finish(claim.key_id, status, body, replayed=False)

    async def _begin(self, claim: Claim, stored: Stored) -> JSONResponse | None:
        """None when `create` is to run; the response to replay otherwise."""
        now = self._clock.now()
        record = {
            "_id": claim.key_id,
            "fingerprint": claim.fingerprint,
            "state": "running",
            "created_at": now,
        }
        existing: Document | None = None
        for _ in range(3):
            try:
                await self._collection.insert_one(record)
                return None
            except DuplicateKeyError:
                existing = await self._collection.find_one({"_id": claim.key_id})
            if existing is not None:
                break
        if existing is None:
            raise Conflict(
                "the same Idempotency-Key is being used concurrently",
                "يُستخدم مفتاح عدم التكرار نفسه في طلب آخر الآن",
            )
        if existing["fingerprint"] != claim.fingerprint:
            raise Conflict(
                "this Idempotency-Key was already used with a different request body",
                "استُخدم مفتاح عدم التكرار هذا مع طلب مختلف",
            )
        if existing["state"] == "done":
            return _response(json.loads(existing["body"]), int(existing["status"]), replayed=True)
        # The first attempt crashed, or is still running: what it stored answers; if it stored
        # nothing, this attempt creates (the key's unique index keeps it to one).
        found = await stored(claim.key_id)
        if found is not None:
            return await self._finish(claim.key_id, *found, replayed=True)
        return None

    async def _finish(self, key_id: str, status: int, body: Any, *, replayed: bool) -> JSONResponse:
        encoded = jsonable_encoder(body)
        await self._collection.update_one(
            {"_id": key_id},
            {"$set": {"state": "done", "status": status, "body": json.dumps(encoded)}},
        )
        return _response(encoded, status, replayed=replayed)

    async def _forget(self, key_id: str) -> None:
        await self._collection.delete_one({"_id": key_id, "state": "running"})

    async def prune(self) -> int:
        result = await self._collection.delete_many(
            {"created_at": {"$lt": self._clock.now() - WINDOW}}
        )
        return result.deleted_count


def _response(body: Any, status: int, *, replayed: bool) -> JSONResponse:
    response = JSONResponse(body, status_code=status)
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


def _fingerprint(payload: BaseModel | dict[str, Any]) -> str:
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    canonical = json.dumps(jsonable_encoder(data), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Repeat a creating request safely: the same key and body return the "
            "first result, whatever happened to the first attempt.",
        ),
    ] = None,
) -> str | None:
    return idempotency_key


def get_idempotency_store(request: Request) -> IdempotencyStore:
    store: IdempotencyStore = request.app.state.runtime.idempotency
    return store


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
Idempotency = Annotated[IdempotencyStore, Depends(get_idempotency_store)]
