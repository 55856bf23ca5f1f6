"""The MongoDB-protocol server's guarantees the platform relies on, on the real server.

Locally that is FerretDB with the patches of deploy/ferretdb/ (on PostgreSQL by default): its
writes must be atomic per document as MongoDB's are, and the filters its indexes serve must
answer exactly what MongoDB answers (the indexes only narrow what is read).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.mongo import IndexSpec, ensure_indexes

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_two_clients_racing_on_conditional_updates_win_each_document_once(
    infra: Any, mongo: Any, database_name: str
) -> None:
    documents = 150
    collection = mongo[database_name]["race"]
    await collection.insert_many([{"_id": f"d{i}", "version": 0} for i in range(documents)])
    other: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    try:

        async def contender(client: Any, name: str) -> int:
            target = client[database_name]["race"]
            results = await asyncio.gather(
                *(
                    target.update_one(
                        {"_id": f"d{i}", "version": 0},
                        {"$set": {"version": 1, "winner": name}},
                    )
                    for i in range(documents)
                )
            )
            return sum(result.modified_count for result in results)

        won = await asyncio.gather(contender(mongo, "a"), contender(other, "b"))
    finally:
        await other.close()

    assert sum(won) == documents, won
    assert await collection.count_documents({"version": 1}) == documents


async def test_indexed_filters_answer_as_mongodb_does(mongo: Any, database_name: str) -> None:
    collection = mongo[database_name]["filters"]
    await ensure_indexes(
        mongo[database_name],
        [
            IndexSpec("filters", [("owner", 1), ("at", -1)]),
            IndexSpec("filters", [("number", 1)], unique=True),
            IndexSpec("filters", [("due", 1)], sparse=True),
        ],
    )
    hour = timedelta(hours=1)
    await collection.insert_many(
        [
            {"_id": "past", "owner": "a", "number": "N1", "due": NOW - hour},
            {"_id": "future", "owner": "b", "number": "N2", "due": NOW + hour},
            {"_id": "now", "owner": ["a", "c"], "number": "N3", "due": NOW},
            {"_id": "array", "owner": "c", "number": "N4", "due": [NOW + hour, NOW - hour]},
            {"_id": "none", "owner": None, "number": "N5"},
            {"_id": "null-due", "owner": "d", "number": "N6", "due": None},
            {"_id": "text-due", "owner": "d", "number": 7, "due": "yesterday"},
        ]
        + [{"_id": f"filler-{i}", "owner": f"o{i}", "number": f"F{i}"} for i in range(200)]
    )

    async def ids(query: dict[str, Any]) -> set[str]:
        return {document["_id"] async for document in collection.find(query, {"_id": 1})}

    assert await ids({"owner": "a"}) == {"past", "now"}  # "now" by its array's element
    assert await ids({"owner": "c"}) == {"now", "array"}
    assert await ids({"owner": None}) == {"none"} | {
        document["_id"] async for document in collection.find({"owner": {"$exists": False}})
    }
    assert await ids({"number": "N2"}) == {"future"}
    assert await ids({"number": 7}) == {"text-due"}
    assert await ids({"_id": "now", "owner": "c"}) == {"now"}
    assert await ids({"_id": "now", "owner": "b"}) == set()
    assert await ids({"due": {"$lte": NOW}}) == {"past", "now", "array"}
    assert await ids({"due": {"$lt": NOW}}) == {"past", "array"}
    assert await ids({"due": {"$gte": NOW}}) == {"future", "now", "array"}
    assert await ids({"due": {"$gt": NOW}}) == {"future", "array"}
    assert await ids({"due": {"$gt": NOW - 2 * hour, "$lt": NOW}}) == {"past", "array"}
    assert await collection.count_documents({"owner": "a", "due": {"$lte": NOW}}) == 2
