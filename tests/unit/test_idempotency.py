"""The pure parts of the crash-proof `Idempotency-Key`: what `stamp` adds, and which duplicate-key
errors may be the key's own (the behaviour itself is tested against the real database in
tests/integration/test_http.py and the chaos run)."""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from services.common import idempotency
from services.common.idempotency import FINGERPRINT_FIELD, KEY_FIELD, Claim


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
