"""`Idempotency-Key` for POSTs that create something, as GOV.UK Pay does it, and crash-proof.

The portal double-submits, and a gateway retries a POST on a connection error, a 5xx or a 409. The
same key with the same body, from the same user, answers with what the first attempt created
(status and body, as a fresh read of it) with `Idempotent-Replayed: true`; the same key with a
different body is a 409; a malformed key is a 422. A failed first attempt (an error response)
created nothing, so the client may retry it.

The key lives only in the document the POST creates, written in the same single-document insert:
while `create` runs, `stamp()` adds the key (and the body's fingerprint) to the document the store
inserts, and the store's collection has a unique index on it (`key_index`). No other record is
written, so a POST costs one indexed read (`stored`: was something created under this key?) on top
of its own work, and:
- a process killed after the resource was stored: the retry finds the resource by its key and
  answers with it, never creating a second one;
- a process killed before anything was stored: the retry creates it at once;
- two attempts running at once (a client that gave up on the first): both may run `create`, the
  unique index lets one insert win, and the other answers with what the winner stored. Whatever
  `create` does before its insert must therefore be safe to do twice under one key (contractors'
  one-time code is marked used under the key, so the second attempt accepts it again).
A key is bound to what it created for good.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from services.common.mongo import Collection, Document, IndexSpec
from services.common.problems import Conflict, Invalid

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


def _reused() -> Conflict:
    return Conflict(
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


class IdempotencyStore:
    """Runs a creating POST once per key (see the module's docstring)."""

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
        store stamps the created document (`stamp`); `stored` finds what a key created (through
        `find_stamped`)."""
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
        token = _claim.set(claim)
        try:
            found = await stored(claim.key_id)
            if found is not None:
                return _response(jsonable_encoder(found[1]), found[0], replayed=True)
            try:
                status, body = await create()
            except DuplicateKeyError as error:
                # Another attempt with this key stored its resource first: answer with that.
                found = await stored(claim.key_id) if is_key_clash(error) else None
                if found is None:
                    raise
                return _response(jsonable_encoder(found[1]), found[0], replayed=True)
        finally:
            _claim.reset(token)
        return JSONResponse(jsonable_encoder(body), status_code=status)


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
