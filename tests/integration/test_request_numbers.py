"""Request numbers on the real database: a citizen's request takes a number of its process's
block, drawn ahead, without waiting for the counter (one counter command per block); numbers stay
distinct under concurrent requests; a process that stops leaves the rest of its block unused;
numbers not drawn ahead (course codes, sessions) are exact."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.mongo import BLOCK, COUNTERS, request_number
from tests.integration.conftest import Infra, Watched, eventually

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


async def _counter(mongo: Any, database_name: str, name: str) -> int:
    document = await mongo[database_name][COUNTERS].find_one({"_id": name})
    return 0 if document is None else int(document["value"])


async def test_a_block_costs_one_command_and_the_next_is_drawn_ahead(
    watched: Watched, mongo: Any, database_name: str
) -> None:
    client, started = watched
    db = client[database_name]
    assert await request_number(db, "EX", NOW, ahead=True) == "EX-2026-000001"
    assert started.names == ["findAndModify"], "the first block"
    assert await _counter(mongo, database_name, "EX-2026") == BLOCK
    started.names.clear()

    # The rest of the block: no command; its last number draws the next block ahead.
    for value in range(2, BLOCK + 1):
        assert await request_number(db, "EX", NOW, ahead=True) == f"EX-2026-{value:06d}"
    assert started.names == [] or started.names == ["findAndModify"]

    async def next_drawn() -> bool:
        return await _counter(mongo, database_name, "EX-2026") == 2 * BLOCK

    await eventually(next_drawn, message="the next block drawn ahead")
    assert started.names == ["findAndModify"]
    started.names.clear()
    given = await request_number(db, "EX", NOW, ahead=True)
    assert given == f"EX-2026-{BLOCK + 1:06d}"
    assert started.names == [], "taken from the block drawn ahead, no command waited for"


async def test_concurrent_requests_get_distinct_increasing_numbers(
    mongo: Any, database_name: str
) -> None:
    db = mongo[database_name]
    count = 3 * BLOCK
    numbers = await asyncio.gather(
        *(request_number(db, "TR", NOW, ahead=True) for _ in range(count))
    )
    # Handed out in turn: 1 to 30, no gap, the next block drawn ahead.
    assert numbers == [f"TR-2026-{value:06d}" for value in range(1, count + 1)]
    assert await request_number(db, "TR", NOW, ahead=True) == f"TR-2026-{count + 1:06d}"


async def test_a_stopped_process_leaves_the_rest_of_its_block_unused(
    infra: Infra, mongo: Any, database_name: str
) -> None:
    """Each process (its own client) takes blocks for itself: the numbers the first one held
    are never given, and the second goes on after them."""
    first: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    try:
        assert await request_number(first[database_name], "CP", NOW, ahead=True) == "CP-2026-000001"
        assert await request_number(first[database_name], "CP", NOW, ahead=True) == "CP-2026-000002"
    finally:
        await first.close()
    second: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    try:
        given = await request_number(second[database_name], "CP", NOW, ahead=True)
        assert given == f"CP-2026-{BLOCK + 1:06d}"
    finally:
        await second.close()


async def test_numbers_not_drawn_ahead_are_exact(mongo: Any, database_name: str) -> None:
    db = mongo[database_name]
    given = [await request_number(db, "CO", NOW) for _ in range(3)]
    assert given == ["CO-2026-000001", "CO-2026-000002", "CO-2026-000003"]
    await asyncio.sleep(0.2)
    assert await _counter(mongo, database_name, "CO-2026") == 3, "nothing drawn ahead"
    # A new year starts at 1.
    assert await request_number(db, "CO", NOW.replace(year=2027)) == "CO-2027-000001"
