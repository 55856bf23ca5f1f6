"""Deadline sweepers on the real database: leases make several replicas act once per item."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.clock import ManualClock
from services.common.sweeper import DeadlineSweeper

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def acting_on(collection: Any, clock: ManualClock, name: str) -> Any:
    async def act(document: dict[str, Any]) -> None:
        await asyncio.sleep(0.005)  # let the other replica try to take the same item
        await collection.update_one(
            {"_id": document["_id"]},
            {"$unset": {"deadline_at": ""}, "$push": {"acted_by": name}},
        )

    return act


async def test_two_sweepers_act_on_every_due_item_exactly_once(
    mongo: Any, database_name: str
) -> None:
    collection = mongo[database_name]["items"]
    clock = ManualClock(NOW)
    await collection.insert_many(
        [{"_id": f"due-{i}", "deadline_at": NOW - timedelta(minutes=i)} for i in range(60)]
        + [{"_id": f"later-{i}", "deadline_at": NOW + timedelta(hours=1)} for i in range(10)]
    )
    sweepers = [
        DeadlineSweeper(name, collection, acting_on(collection, clock, name), clock)
        for name in ("a", "b")
    ]

    acted = await asyncio.gather(*(sweeper.sweep() for sweeper in sweepers))

    assert sum(acted) == 60
    async for item in collection.find({"_id": {"$regex": "^due-"}}):
        assert len(item["acted_by"]) == 1, item
    assert await collection.count_documents({"acted_by": {"$exists": True}}) == 60
    assert (
        await collection.count_documents(
            {"_id": {"$regex": "^later-"}, "deadline_at": {"$gt": NOW}}
        )
        == 10
    )


async def test_an_item_whose_handler_failed_is_retried_after_the_lease_by_another_replica(
    mongo: Any, database_name: str
) -> None:
    collection = mongo[database_name]["items"]
    clock = ManualClock(NOW)
    await collection.insert_one({"_id": "due", "deadline_at": NOW - timedelta(seconds=1)})

    async def crash(document: dict[str, Any]) -> None:
        raise RuntimeError("replica a fails while acting")

    failing = DeadlineSweeper("a", collection, crash, clock, lease_seconds=60)
    healthy = DeadlineSweeper("b", collection, acting_on(collection, clock, "b"), clock)

    assert await failing.sweep() == 0
    assert await healthy.sweep() == 0, "the lease still holds the item"
    clock.advance(timedelta(seconds=61))
    assert await healthy.sweep() == 1
    item = await collection.find_one({"_id": "due"})
    assert item is not None and item["acted_by"] == ["b"]


async def test_nothing_happens_before_the_deadline_and_it_fires_when_the_clock_reaches_it(
    mongo: Any, database_name: str
) -> None:
    collection = mongo[database_name]["items"]
    clock = ManualClock(NOW)
    await collection.insert_one({"_id": "x", "deadline_at": NOW + timedelta(days=3)})
    sweeper = DeadlineSweeper("a", collection, acting_on(collection, clock, "a"), clock)

    assert await sweeper.sweep() == 0
    clock.advance(timedelta(days=3))
    assert await sweeper.sweep() == 1
