"""`Idempotency-Key` for POSTs that create something, as GOV.UK Pay does it.

The portal double-submits. The same key with the same body, from the same user, within 24 hours
returns the original response (status and body) with `Idempotent-Replayed: true`; the same key with
a different body is a 409; a malformed key is a 422; a key whose first request is still running is a
409 too. A failed first attempt (an error response) is forgotten, so the client may retry it.
Records older than the window are ignored and overwritten; they are pruned by `prune()`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from services.common.clock import Clock
from services.common.mongo import Database, IndexSpec
from services.common.problems import Conflict, Invalid

COLLECTION = "idempotency_keys"
INDEXES = [IndexSpec(COLLECTION, [("created_at", 1)])]
WINDOW = timedelta(hours=24)
# A first request that has not finished after this long is taken to have died.
IN_PROGRESS_TIMEOUT = timedelta(minutes=2)
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAYED_HEADER = "Idempotent-Replayed"


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
        create: Callable[[], Awaitable[tuple[int, Any]]],
    ) -> JSONResponse:
        """Run `create` once per (scope, key, payload); `create` returns (status, body)."""
        if key is None:
            status, body = await create()
            return JSONResponse(jsonable_encoder(body), status_code=status)
        if not KEY_PATTERN.match(key):
            raise Invalid(
                "Idempotency-Key must be 1 to 255 printable ASCII characters",
                "يجب أن يتكون مفتاح عدم التكرار من 1 إلى 255 حرفاً مطبوعاً",
                errors=[{"field": "header.Idempotency-Key", "location": "header"}],
            )
        record_id = hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()
        fingerprint = _fingerprint(payload)
        replay = await self._begin(record_id, fingerprint)
        if replay is not None:
            return replay
        try:
            status, body = await create()
        except BaseException:
            await self._collection.delete_one({"_id": record_id, "state": "running"})
            raise
        encoded = jsonable_encoder(body)
        if status >= 400:
            await self._collection.delete_one({"_id": record_id, "state": "running"})
        else:
            await self._collection.update_one(
                {"_id": record_id},
                {"$set": {"state": "done", "status": status, "body": json.dumps(encoded)}},
            )
        return JSONResponse(encoded, status_code=status)

    async def _begin(self, record_id: str, fingerprint: str) -> JSONResponse | None:
        now = self._clock.now()
        record = {
            "_id": record_id,
            "fingerprint": fingerprint,
            "state": "running",
            "created_at": now,
        }
        try:
            await self._collection.insert_one(record)
            return None
        except DuplicateKeyError:
            pass
        existing = await self._collection.find_one({"_id": record_id})
        if existing is None or _is_stale(existing, now):
            # Expired (or vanished): take it over, unless another request just did.
            result = await self._collection.replace_one(
                {"_id": record_id, "created_at": existing["created_at"]}
                if existing
                else {"_id": record_id},
                record,
                upsert=existing is None,
            )
            if result.modified_count or result.upserted_id is not None:
                return None
            existing = await self._collection.find_one({"_id": record_id})
            if existing is None:
                raise Conflict(
                    "the same Idempotency-Key is being used concurrently",
                    "يُستخدم مفتاح عدم التكرار نفسه في طلب آخر الآن",
                )
        if existing["fingerprint"] != fingerprint:
            raise Conflict(
                "this Idempotency-Key was already used with a different request body",
                "استُخدم مفتاح عدم التكرار هذا مع طلب مختلف",
            )
        if existing["state"] != "done":
            raise Conflict(
                "the first request with this Idempotency-Key is still being processed",
                "الطلب الأول بهذا المفتاح ما زال قيد المعالجة",
            )
        response = JSONResponse(json.loads(existing["body"]), status_code=int(existing["status"]))
        response.headers[REPLAYED_HEADER] = "true"
        return response

    async def prune(self) -> int:
        result = await self._collection.delete_many(
            {"created_at": {"$lt": self._clock.now() - WINDOW}}
        )
        return result.deleted_count


def _is_stale(record: dict[str, Any], now: Any) -> bool:
    created = record["created_at"]
    if created < now - WINDOW:
        return True
    return bool(record["state"] == "running" and created < now - IN_PROGRESS_TIMEOUT)


def _fingerprint(payload: BaseModel | dict[str, Any]) -> str:
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    canonical = json.dumps(jsonable_encoder(data), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Repeat a creating request safely: the same key and body within 24 h "
            "return the first result.",
        ),
    ] = None,
) -> str | None:
    return idempotency_key


def get_idempotency_store(request: Request) -> IdempotencyStore:
    store: IdempotencyStore = request.app.state.runtime.idempotency
    return store


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
Idempotency = Annotated[IdempotencyStore, Depends(get_idempotency_store)]
