"""`Idempotency-Key` for POSTs that create something, as GOV.UK Pay does it, and crash-proof.

The portal double-submits, and a gateway retries a POST on a connection error, a 5xx or a 409. The
same key with the same body, from the same user, answers with what the first attempt created
(status and body, as a fresh read of it) with `Idempotent-Replayed: true`; the same key with a
different body is a 409; a malformed key is a 422. A failed first attempt (an error response)
created nothing, so the client may retry it.

The key lives only in the document the POST creates, written in the same single-document insert:
while `create` runs, `stamp()` adds the key (and the body's fingerprint) to the document the store
inserts, and the store's collection has a unique index on it (`key_index`). No other record is
written, and nothing is read first: `create` runs, and only when it fails is the key looked up
(`stored`: was something created under this key?). A first attempt, nearly every POST, costs
nothing on top of its own work, and:
- a repeated attempt (a double submit, a retry after a lost answer): its insert meets the unique
  index, and it answers with what the first attempt stored (`Idempotent-Replayed: true`), never
  creating a second one. It may instead fail a check the first attempt passed (the citizen has a
  request now, the offer closed since): a 4xx is answered only if nothing was created under the
  key. What it did before its insert is done twice: a request number drawn and left unused (a
  gap in the numbers), a file kept and removed again;
- a process killed after the resource was stored: the retry is such a repeated attempt;
- a process killed before anything was stored: the retry creates it at once;
- two attempts running at once (a client that gave up on the first): the unique index lets one
  insert win, and the other answers with what the winner stored.
Whatever `create` does before its insert must therefore be safe to do twice under one key
(contractors' one-time code is marked used under the key, so the second attempt accepts it again).
A key is bound to what it created for good.

This module is the data side (the claim, the stamp, the index, the lookup), which stores use;
the HTTP side (the header, `IdempotencyStore.run`) is `idempotency_http.py`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.common.errors import NotAllowedNow
from services.common.mongo import Collection, Document, IndexSpec

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
    """The document created under `key_id`, if any. Inside a POST with a key (`run`), a document
    created with another body under the same key is a 409: the key was reused."""
    document = await collection.find_one({KEY_FIELD: key_id})
    claim = _claim.get()
    if (
        document is not None
        and claim is not None
        and claim.key_id == key_id
        and document.get(FINGERPRINT_FIELD) != claim.fingerprint
    ):
        raise _reused()
    return document


def _reused() -> NotAllowedNow:
    return NotAllowedNow(
        "this Idempotency-Key was already used with a different request body",
        "استُخدم مفتاح عدم التكرار هذا مع طلب مختلف",
    )


def is_key_clash(error: DuplicateKeyError) -> bool:
    """Whether a DuplicateKeyError may come from `key_index` (MongoDB names the index; FerretDB
    names none, so any clash may be it)."""
    details = error.details or {}
    pattern = details.get("keyPattern")
    if isinstance(pattern, dict):
        return KEY_FIELD in pattern
    message = str(details.get("errmsg", error))
    return "index:" not in message or "one_per_idempotency_key" in message
