"""The sender's claim on the real database (`MessageStore.claim`).

A message whose attempt starts at once (queued, or a temporary failure, not expired) is held
and recorded `sending` in one `findAndModify`. It must leave exactly what the two steps did
before: the hold, then `MessageStore.record` of what `domain.start_attempt` decides. Any other due
message (found `sending` after a crash, or expired) is only held, and `start_attempt` decides; a
message held by another sender, or not yet due, is not claimed at all.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.outbox import Outbox
from services.notifier.domain import (
    Message,
    RetryPolicy,
    Status,
    TemporaryFailure,
    after_gateway,
    queued,
    start_attempt,
)
from services.notifier.store import MessageStore, from_document
from tests.integration.conftest import Watched
from tests.integration.helpers import CommandNames

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=5)
UNTIL = NOW + timedelta(seconds=60)
POLICY = RetryPolicy()


def message(message_id: str, **changes: Any) -> Message:
    return Message(
        id=message_id,
        event_id=f"event-{message_id}",
        event_type="payments.bill.issued.v1",
        template="payments.bill.issued.v1",
        lang="ar",
        phone="+962791234567",
        text="رقم الدفع الإلكتروني 2380288932239",
        encoding="UCS-2",
        characters=33,
        segments=1,
        created_at=T0,
        request_number="EX-2026-000001",
        **changes,
    )


Stores = tuple[MessageStore, CommandNames]


@pytest.fixture
def stores(watched: Watched, database_name: str) -> Stores:
    client, commands = watched
    return MessageStore(client[database_name], Outbox()), commands


async def stored(store: MessageStore, state: str, message_id: str, **changes: Any) -> Message:
    """A message in `state` (queued, temporary-failure or sending), stored as the service stores
    it, due at T0 and held by nobody."""
    new = message(message_id, **changes)
    assert await store.add(new, queued(T0))
    current = await store.get(message_id)
    assert current is not None
    if state in ("temporary-failure", "sending"):
        attempt = start_attempt(current.state, T0, POLICY, 0.0)
        await store.record(current, attempt)
        current = await store.get(message_id)
        assert current is not None
    if state == "temporary-failure":
        failed = after_gateway(current.state, TemporaryFailure("gateway 503"), T0, POLICY, 0.0)
        await store.record(current, replace(failed, next_attempt_at=T0))
        current = await store.get(message_id)
        assert current is not None
    assert current.status == state
    return current


async def held_then_started(store: MessageStore, message_id: str) -> None:
    """The two steps the claim replaced: hold, then record `start_attempt`'s decision."""
    held = await store.messages.find_one_and_update(
        {"_id": message_id},
        {"$set": {"send_lease_until": UNTIL, "send_lease_owner": "run", "send_lease_holder": "h"}},
    )
    assert held is not None
    current = from_document(held)
    await store.record(current, start_attempt(current.state, NOW, POLICY, 0.0))


def without_ids(document: dict[str, Any] | None) -> dict[str, Any]:
    assert document is not None
    return {k: v for k, v in document.items() if k not in ("_id", "event_id")}


@pytest.mark.parametrize("state", ["queued", "temporary-failure"])
async def test_an_attempt_that_starts_at_once_is_held_and_recorded_in_one_write(
    state: str, stores: Stores
) -> None:
    store, commands = stores
    await stored(store, state, "one-write")
    await stored(store, state, "two-steps")

    commands.names.clear()
    claimed = await store.claim("one-write", NOW, "run", UNTIL, "h")
    assert commands.names == ["findAndModify"], "held and started in one command"
    assert claimed is not None and claimed.started
    after = claimed.document
    assert after["status"] == "sending" and after["send_lease_owner"] == "run"

    await held_then_started(store, "two-steps")
    two_steps = await store.messages.find_one({"_id": "two-steps"})
    assert without_ids(after) == without_ids(two_steps)
    assert after == await store.messages.find_one({"_id": "one-write"}), "what was returned"


@pytest.mark.parametrize("state", ["sending", "expired"])
async def test_any_other_due_message_is_only_held_for_start_attempt_to_decide(
    state: str, stores: Stores
) -> None:
    store, commands = stores
    if state == "expired":
        before = await stored(store, "queued", "other", expires_at=NOW - timedelta(seconds=1))
    else:  # a sender stopped mid-attempt, and its lease has run out
        before = await stored(store, "sending", "other")

    commands.names.clear()
    claimed = await store.claim("other", NOW, "run", UNTIL, "h")
    assert commands.names == ["findAndModify", "findAndModify"]
    assert claimed is not None and not claimed.started
    held = from_document(claimed.document)
    assert held == before, "held, nothing else changed"
    assert claimed.document["send_lease_owner"] == "run"
    decided = start_attempt(held.state, NOW, POLICY, 0.0)
    expected = Status.TECHNICAL_FAILURE if state == "expired" else Status.SENDING
    assert decided.status is expected


async def test_a_message_held_by_another_sender_or_not_due_is_not_claimed(
    stores: Stores,
) -> None:
    store, _ = stores
    await stored(store, "queued", "held")
    assert await store.claim("held", NOW, "other-run", UNTIL, "other-host") is not None
    assert await store.claim("held", NOW, "run", UNTIL, "h") is None, "the lease holds"
    # Held, still queued: as a sender of the version before held it (a rolling update), before
    # recording `sending`.
    await stored(store, "queued", "held-queued")
    lease = {"send_lease_until": UNTIL, "send_lease_owner": "old-run", "send_lease_holder": "o"}
    await store.messages.update_one({"_id": "held-queued"}, {"$set": lease})
    assert await store.claim("held-queued", NOW, "run", UNTIL, "h") is None, "the lease holds"

    await stored(store, "queued", "later")
    assert await store.claim("later", T0 - timedelta(seconds=1), "run", UNTIL, "h") is None
    later = await store.get("later")
    assert later is not None and later.status is Status.QUEUED and later.version == 1
