"""`Idempotency-Key` over HTTP: the header, and running a creating POST once per key.

See `idempotency.py` for how it holds whatever crashes when; this is the route's side.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from services.common.errors import DomainError
from services.common.idempotency import (
    KEY_PATTERN,
    REPLAYED_HEADER,
    Claim,
    Create,
    Stored,
    _claim,
    is_key_clash,
)
from services.common.problems import Invalid, Problem


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
            # Created first, looked up only if that fails: a first attempt (nearly every POST)
            # costs no read, and a repeated one meets the unique index on the key.
            status, body = await create()
        except (DuplicateKeyError, DomainError, Problem) as error:
            # An attempt with this key stored its resource first (its insert met the key's
            # index), or this repeated attempt failed a check the first one passed (the citizen
            # has a request now, the offer closed since): what the first one created stands.
            ours = not isinstance(error, DuplicateKeyError) or is_key_clash(error)
            found = await stored(claim.key_id) if ours else None
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


async def idempotency_key(
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


async def get_idempotency_store(request: Request) -> IdempotencyStore:
    store: IdempotencyStore = request.app.state.runtime.idempotency
    return store


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
Idempotency = Annotated[IdempotencyStore, Depends(get_idempotency_store)]
