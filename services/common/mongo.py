"""The one MongoDB client of a process, the service's own database, and index creation at start-up.

Indexes are declared by each service's store beside the queries that need them (`IndexSpec`), and
created once when the service starts. Everything here works on MongoDB and on FerretDB v1 alike:
no multi-document transactions, no nested arrays, no dotted or `$`-prefixed keys.

Every command the client sends is counted (`mongo_commands_total{command, collection, purpose}` at
`/metrics`, from PyMongo's command monitoring) and timed (`mongo_command_seconds_total`, the same
labels: the database's answer times, summed; divided by the count, a command's mean time).
`purpose` names the shared machinery's own work (`outbox.claim`, `outbox.clear`, `outbox.scan`,
`sweeper.scan`, ...) so that what a request costs can be told from what runs on every poll;
`bench.requests` prints both per citizen request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from pymongo import ASCENDING, AsyncMongoClient, IndexModel, ReturnDocument, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

logger = logging.getLogger(__name__)

Document = dict[str, Any]
Database = AsyncDatabase[Document]
Collection = AsyncCollection[Document]


@dataclass(frozen=True)
class IndexSpec:
    collection: str
    keys: Sequence[tuple[str, int]]
    unique: bool = False
    sparse: bool = False
    name: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def model(self) -> IndexModel:
        kwargs: dict[str, Any] = {"unique": self.unique, **self.options}
        if self.sparse:
            kwargs["sparse"] = True
        if self.name:
            kwargs["name"] = self.name
        return IndexModel(list(self.keys), **kwargs)


COMMANDS = Counter(
    "mongo_commands",
    "Database commands sent, by command name, collection and purpose ('' for a request's own)",
    ["command", "collection", "purpose"],
)
COMMAND_SECONDS = Counter(
    "mongo_command_seconds",
    "Time the database took to answer, summed, by command name, collection and purpose",
    ["command", "collection", "purpose"],
)
_PURPOSE: ContextVar[str] = ContextVar("mongo_purpose", default="")


@contextmanager
def purpose(name: str) -> Iterator[None]:
    """Label the database commands sent inside this block (and the tasks it starts)."""
    token = _PURPOSE.set(name)
    try:
        yield
    finally:
        _PURPOSE.reset(token)


class CommandCounter(monitoring.CommandListener):
    """Counts every command the client sends (PyMongo's command monitoring)."""

    def __init__(self) -> None:
        self._collections: dict[int, str] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        target = event.command.get("collection" if name == "getMore" else name)
        collection = target if isinstance(target, str) else ""
        self._collections[event.request_id] = collection
        COMMANDS.labels(name, collection, _PURPOSE.get()).inc()

    def _timed(
        self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent
    ) -> None:
        collection = self._collections.pop(event.request_id, "")
        seconds = event.duration_micros / 1e6
        COMMAND_SECONDS.labels(event.command_name, collection, _PURPOSE.get()).inc(seconds)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._timed(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._timed(event)


def make_client(url: str, app_name: str) -> AsyncMongoClient[Document]:
    """One client per process; `tz_aware` so datetimes come back aware. Connects lazily."""
    return AsyncMongoClient(
        url,
        tz_aware=True,
        appname=app_name,
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=5000,
        event_listeners=[CommandCounter()],
    )


async def ping(db: Database) -> bool:
    try:
        await db.command("ping")
    except Exception:
        return False
    return True


async def ensure_indexes(db: Database, specs: Iterable[IndexSpec]) -> None:
    # One index per command: FerretDB v1.24 drops the connection (a server-side panic) when a
    # single createIndexes names several indexes that already exist, i.e. at every restart.
    for spec in specs:
        await db[spec.collection].create_indexes([spec.model()])


COUNTERS = "counters"


async def next_sequence(db: Database, name: str, step: int = 1) -> int:
    """An atomic counter (one document per name), for human request numbers like EX-2026-000123:
    the value after adding `step` (a block of `step` numbers ending there)."""
    doc = await db[COUNTERS].find_one_and_update(
        {"_id": name},
        {"$inc": {"value": step}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert doc is not None  # upsert with AFTER always returns the document
    return int(doc["value"])


async def request_number(db: Database, prefix: str, now: datetime, *, ahead: bool = False) -> str:
    """`<PREFIX>-<year>-<6 digits>`, numbered per prefix and year.

    `ahead`: for the numbers of citizens' requests. The process takes `BLOCK` numbers from the
    counter at once and hands them out in turn, and draws its next block while it uses the last
    number of this one (`_take_drawn`): a citizen's request does not wait for the counter, and
    the counter costs one database command per `BLOCK` requests. The numbers stay increasing
    within a process; a process that stops leaves what it held unused, never given (at most
    `BLOCK` numbers per stop, and as many at each year's end), and replicas interleave theirs
    (two replicas number from two blocks at once)."""
    year = now.year
    name = f"{prefix}-{year}"
    value = await (_take_drawn(db, name) if ahead else next_sequence(db, name))
    return f"{prefix}-{year}-{value:06d}"


# The numbers a process takes from a counter at once for citizens' requests (`ahead=True`).
BLOCK = 10


@dataclass
class _Block:
    """A process's numbers of one counter: `next` to `last` still to give, and the next block
    while it is drawn ahead."""

    next: int = 1
    last: int = 0
    ahead: asyncio.Future[int] | None = None


# Per event loop, client, database and counter: the block being handed out, and the lock that
# hands its numbers out one at a time.
_Key = tuple[int, int, str, str]
_blocks: dict[_Key, _Block] = {}
_handing_out: dict[_Key, asyncio.Lock] = {}


async def _take_drawn(db: Database, name: str) -> int:
    """The next number of the process's block; a new block when it is used up (the one drawn
    ahead, waiting for it if it is still being drawn), and the one after drawn meanwhile, when
    the last number of a block is given. One at a time, in turn: a number given is always above
    those given before by this process."""
    key = (id(asyncio.get_running_loop()), id(db.client), db.name, name)
    async with _handing_out.setdefault(key, asyncio.Lock()):
        block = _blocks.setdefault(key, _Block())
        if block.next > block.last:
            last: int | None = None
            if block.ahead is not None:
                drawn, block.ahead = block.ahead, None
                try:
                    last = await drawn
                except Exception:
                    logger.warning(
                        "request numbers drawn ahead failed; drawing again", exc_info=True
                    )
            if last is None:
                last = await next_sequence(db, name, BLOCK)
            block.next, block.last = last - BLOCK + 1, last
        value = block.next
        block.next += 1
        if block.next > block.last and block.ahead is None:
            block.ahead = asyncio.ensure_future(next_sequence(db, name, BLOCK))
    return value


ASC = ASCENDING
