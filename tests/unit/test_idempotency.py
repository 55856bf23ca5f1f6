"""The pure parts of the crash-proof `Idempotency-Key`: what `stamp` adds, which duplicate-key
errors may be the key's own, and the order in which a POST creates and looks its key up (the
behaviour itself is tested against the real database in tests/integration/test_http.py and the
chaos run)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError

from services.common import idempotency
from services.common.errors import RuleBroken
from services.common.idempotency import (
    FINGERPRINT_FIELD,
    KEY_FIELD,
    REPLAYED_HEADER,
    Claim,
    Outcome,
)
from services.common.idempotency_http import IdempotencyStore


def test_stamp_adds_the_running_posts_key_and_nothing_outside_one() -> None:
    assert idempotency.stamp({"_id": "EX-1"}) == {"_id": "EX-1"}
    token = idempotency._claim.set(Claim(key_id="k" * 64, fingerprint="f" * 64))
    try:
        stamped = idempotency.stamp({"_id": "EX-1"})
    finally:
        idempotency._claim.reset(token)
    assert stamped == {"_id": "EX-1", KEY_FIELD: "k" * 64, FINGERPRINT_FIELD: "f" * 64}
    assert idempotency.current() is None


def test_the_key_index_is_unique_and_sparse() -> None:
    spec = idempotency.key_index("requests")
    assert (spec.collection, list(spec.keys), spec.unique, spec.sparse) == (
        "requests",
        [(KEY_FIELD, 1)],
        True,
        True,
    )


def test_a_duplicate_key_error_is_the_keys_when_mongodb_names_it_or_ferretdb_names_nothing() -> (
    None
):
    mongodb_key = DuplicateKeyError("E11000", 11000, {"keyPattern": {KEY_FIELD: 1}})
    mongodb_id = DuplicateKeyError("E11000", 11000, {"keyPattern": {"_id": 1}})
    ferretdb = DuplicateKeyError(
        "E11000", 11000, {"errmsg": "E11000 duplicate key error collection: db.requests"}
    )
    assert idempotency.is_key_clash(mongodb_key)
    assert not idempotency.is_key_clash(mongodb_id)
    assert idempotency.is_key_clash(ferretdb)


# ---- the order of `IdempotencyStore.run`: create first, look up only when that fails ----------


class _Attempts:
    """`create` and `stored` of one POST: what the store would do, recorded (no database: the
    real one is in tests/integration/test_http.py)."""

    def __init__(self, create_error: Exception | None, stored: Outcome | None) -> None:
        self.create_error = create_error
        self.stored_outcome = stored
        self.calls: list[str] = []

    async def create(self) -> Outcome:
        self.calls.append("create")
        if self.create_error is not None:
            raise self.create_error
        return 201, {"request_number": "EX-2026-000002"}

    async def stored(self, key_id: str) -> Outcome | None:
        self.calls.append("stored")
        return self.stored_outcome


async def _run(attempts: _Attempts) -> Any:
    return await IdempotencyStore().run(
        scope="citizen-1",
        key="k-1",
        payload={"exam_code": "icdl-practice"},
        create=attempts.create,
        stored=attempts.stored,
    )


async def test_a_first_attempt_creates_without_looking_the_key_up() -> None:
    attempts = _Attempts(None, None)
    response = await _run(attempts)
    assert attempts.calls == ["create"]
    assert response.status_code == 201 and REPLAYED_HEADER not in response.headers


async def test_a_repeated_attempt_meeting_the_keys_index_answers_with_what_the_first_stored() -> (
    None
):
    clash = DuplicateKeyError("E11000", 11000, {"keyPattern": {KEY_FIELD: 1}})
    attempts = _Attempts(clash, (201, {"request_number": "EX-2026-000001"}))
    response = await _run(attempts)
    assert attempts.calls == ["create", "stored"]
    assert response.status_code == 201 and response.headers[REPLAYED_HEADER] == "true"
    assert json.loads(response.body) == {"request_number": "EX-2026-000001"}


async def test_a_repeated_attempt_failing_a_check_the_first_passed_answers_with_the_first() -> None:
    refused = RuleBroken("the offer closed", "أُغلق العرض")
    attempts = _Attempts(refused, (201, {"request_number": "EX-2026-000001"}))
    response = await _run(attempts)
    assert attempts.calls == ["create", "stored"]
    assert response.status_code == 201 and response.headers[REPLAYED_HEADER] == "true"


async def test_a_refused_attempt_with_nothing_created_under_its_key_is_refused() -> None:
    refused = RuleBroken("the offer closed", "أُغلق العرض")
    attempts = _Attempts(refused, None)
    with pytest.raises(RuleBroken):
        await _run(attempts)
    assert attempts.calls == ["create", "stored"]
