"""Deadlines: a sweeper that finds due items and acts on each exactly once across replicas.

A deadline is a field on the aggregate (e.g. `deadline_at`) with an index. The sweeper claims one
due document at a time by setting a lease on it (`<field>_lease_until`, `<field>_lease_owner`), so
two replicas never act on the same item; then it calls the handler, whose own update must move or
clear the deadline together with the state change (and should be guarded by the aggregate's version,
so that even an expired lease cannot make it act twice). A handler that fails leaves the lease in
place: the item is retried when the lease runs out, not in a hot loop. `after_sweep`, if given,
runs after every pass (e.g. to refresh a gauge from the database).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from prometheus_client import Counter
from pymongo import ReturnDocument

from services.common.clock import Clock
from services.common.mongo import Collection, Document, IndexSpec, purpose

logger = logging.getLogger(__name__)

ACTED = Counter("deadlines_acted_total", "Due items acted on by a sweeper", ["sweeper"])
FAILED = Counter("deadlines_failed_total", "Sweeper handler failures", ["sweeper"])

DeadlineHandler = Callable[[Document], Awaitable[None]]


def deadline_index(collection: str, field: str) -> IndexSpec:
    return IndexSpec(collection, [(field, 1)], sparse=True, name=f"{field}_due")


class DeadlineSweeper:
    def __init__(
        self,
        name: str,
        collection: Collection,
        handler: DeadlineHandler,
        clock: Clock,
        *,
        field: str = "deadline_at",
        poll_seconds: float = 5.0,
        lease_seconds: float = 60.0,
        after_sweep: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.name = name
        self._collection = collection
        self._handler = handler
        self._clock = clock
        self._field = field
        self._lease_until = f"{field}_lease_until"
        self._lease_owner = f"{field}_lease_owner"
        self._poll_seconds = poll_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._owner = uuid.uuid4().hex
        self._stopping = asyncio.Event()
        self._after_sweep = after_sweep

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("sweeper %s: cannot sweep now", self.name, exc_info=True)
            try:
                await asyncio.wait_for(self._stopping.wait(), self._poll_seconds)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stopping.set()

    async def sweep(self, batch: int = 500) -> int:
        """Act on every item due now (up to `batch`); return how many were acted on successfully.

        One query lists the due items (a range on the indexed deadline field, which the local
        FerretDB build serves from the index too), then each is claimed by `_id`.
        """
        now = self._clock.now()
        with purpose("sweeper.scan"):
            cursor = (
                self._collection.find({self._field: {"$lte": now}}, {"_id": 1})
                .sort(self._field, 1)
                .limit(batch)
            )
            due = [document["_id"] async for document in cursor]
        acted = 0
        for document_id in due:
            if self._stopping.is_set():
                break
            document = await self._claim(document_id)
            if document is None:
                continue  # another replica holds it, or it is no longer due
            try:
                await self._handler(document)
            except Exception:
                FAILED.labels(self.name).inc()
                logger.exception("sweeper %s: handler failed for %s", self.name, document_id)
                continue  # the lease stays: retried when it runs out, not in a hot loop
            with purpose("sweeper.release"):
                await self._collection.update_one(
                    {"_id": document_id, self._lease_owner: self._owner},
                    {"$unset": {self._lease_until: "", self._lease_owner: ""}},
                )
            ACTED.labels(self.name).inc()
            acted += 1
        if self._after_sweep is not None:
            await self._after_sweep()
        return acted

    async def _claim(self, document_id: Any) -> Document | None:
        now = self._clock.now()
        with purpose("sweeper.claim"):
            return await self._collection.find_one_and_update(
                {
                    "_id": document_id,
                    self._field: {"$lte": now},
                    "$or": [{self._lease_until: None}, {self._lease_until: {"$lte": now}}],
                },
                {"$set": {self._lease_until: now + self._lease, self._lease_owner: self._owner}},
                return_document=ReturnDocument.AFTER,
            )
