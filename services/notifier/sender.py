"""The sender: the loop that hands due messages to the gateway, safe with several replicas.

A message is due when its `next_attempt_at` has come (a new one at once, a retry after its
backoff, one whose sender died once that sender's lease ran out, or at once when that sender
restarts: the lease names its holder, host and port, and a restarted sender takes back what its
previous run held). Each pass the sender claims due
messages one by one **by `_id`** with a lease (`send_lease_until` / `send_lease_owner`), so that
no two workers or replicas send a message at once, and sends up to `workers` of them
concurrently; `send` records the outcome and moves or clears `next_attempt_at`. The claim of a
queued message (or a temporary failure) also records the attempt's start, `sending`, in the same
write (`MessageStore.claim`).

Which messages to claim: those the consumer just recorded (`DueMessages`: it wakes the sender
with their ids),
and, at least every `poll_seconds`, the result of one query for everything due. Claims are by
`_id` because a MongoDB-protocol server without usable secondary indexes (FerretDB v1, the local
and test database) reads the whole collection for any other filter: once a pass is affordable,
once a message is not.

It is not a `DeadlineSweeper`: those claim with the deadline filter every time and cannot be
woken; as one, the sender managed 12 SMS a second on FerretDB, this way about 30 (README).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from prometheus_client import Counter

from services.common.clock import Clock
from services.notifier.store import Claimed, MessageStore

logger = logging.getLogger(__name__)

SEND_FAILURES = Counter(
    "notifier_sender_failures_total", "Messages whose sending raised (retried after the lease)"
)


class DueMessages:
    """The consumer's word to the sender: "these messages were just queued". Lost in a crash,
    they are found by the sender's next scan."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._event = asyncio.Event()

    def add(self, message_id: str) -> None:
        self._ids.append(message_id)
        self._event.set()

    def wake(self) -> None:
        self._event.set()

    def take(self) -> list[str]:
        taken, self._ids = list(dict.fromkeys(self._ids)), []
        return taken

    async def wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except TimeoutError:
            pass
        self._event.clear()


class Sender:
    def __init__(
        self,
        store: MessageStore,
        send: Callable[[Claimed], Awaitable[None]],
        clock: Clock,
        due: DueMessages,
        *,
        workers: int,
        poll_seconds: float,
        lease_seconds: float,
        batch: int = 500,
        holder: str = "",
    ) -> None:
        self._store = store
        self._send = send
        self._clock = clock
        self._workers = workers
        self._poll_seconds = poll_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._batch = batch
        self._owner = uuid.uuid4().hex
        # The sender's lasting identity (host and port; empty: none). A restart takes back the
        # messages its previous run held (`resume`) instead of waiting out their lease.
        self._holder = holder
        self._resumed = not holder
        self._due = due
        self._stopping = asyncio.Event()
        self._last_scan = float("-inf")

    def stop(self) -> None:
        self._stopping.set()
        self._due.wake()

    async def run(self) -> None:
        logger.info("sender started (%d workers)", self._workers)
        failures = 0
        while not self._stopping.is_set():
            try:
                if not self._resumed:
                    await self.resume()
                await self.send_due()
                failures = 0
                await self._due.wait(self._poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                delay = min(0.2 * 2**failures, 5.0)
                logger.warning("sender cannot send now; retrying in %.1fs", delay, exc_info=True)
                await self._due.wait(delay)
        logger.info("sender stopped")

    async def resume(self) -> list[str]:
        """Take back at once the messages a previous run of this sender (the same holder) held
        when it was killed: they are due again, and found `sending` they are sent again under
        the same provider reference (domain.start_attempt), as after a lease that ran out."""
        released = await self._store.release_previous_run(self._holder, self._owner)
        self._resumed = True
        if released:
            logger.warning(
                "sender: %d message(s) held by the previous run resumed at once", len(released)
            )
            for message_id in released:
                self._due.add(message_id)
        return released

    async def send_due(self) -> int:
        """Send the hinted messages, and everything due if the last scan is `poll_seconds` old;
        return how many were handed to `send`."""
        hinted = self._due.take()
        sent = await self._send_all(hinted)
        # The scan is the backstop (retries, restarts, other replicas' messages); while hints
        # keep coming it runs every tenth poll only. Its range on `next_attempt_at` is served by
        # that field's index (on the local FerretDB too, see deploy/ferretdb/README.md).
        since_scan = time.monotonic() - self._last_scan
        if since_scan >= self._poll_seconds * (10 if hinted else 1):
            self._last_scan = time.monotonic()
            due = await self._store.due(self._clock.now(), self._batch)
            sent += await self._send_all(due)
        return sent

    async def _send_all(self, message_ids: list[str]) -> int:
        slots = asyncio.Semaphore(self._workers)

        async def one(message_id: str) -> int:
            async with slots:
                if self._stopping.is_set():
                    return 0
                now = self._clock.now()
                claimed = await self._store.claim(
                    message_id, now, self._owner, now + self._lease, self._holder
                )
                if claimed is None:
                    return 0  # not due, or another worker has it
                try:
                    # Recording the outcome ends the claim, in the same write.
                    await self._send(claimed)
                except Exception:
                    # The lease stays: the message is tried again when it runs out, not at once.
                    SEND_FAILURES.inc()
                    logger.exception("sender: sending message %s failed", message_id)
                    return 0
                return 1

        return sum(await asyncio.gather(*(one(message_id) for message_id in message_ids)))
