"""The one change loop: load an aggregate, let the domain decide, save with its events, retry.

Every service changes its aggregates (a request, a session, a course, a bill) the same way, with
optimistic concurrency: the change is decided on a loaded version and written only over that
version, together with its events (the outbox is in the same write). A writer that meets a newer
version has lost a race; what it does next depends on who asked:

- **a person** (an HTTP action) decided on what they saw: one attempt (`PERSON`), then
  `ChangedMeanwhile` (409: reload and decide again);
- **an event or a sweeper** must be applied whatever else happened meanwhile: it reloads and
  decides again, up to `EVENT` times, with a short random pause that grows with each clash. Each
  clash means another writer changed the aggregate, so the bound is on how many concurrent
  changes it can lose to, not a wait. Past it, `ChangedMeanwhile` again, which the consumer
  retries later (it is not a refusal of the rules: see `consumer.typed_handler`).

The domain says "nothing to do" by returning None (a redelivered event, a second sweep): nothing
is written, and `change` returns None. A store signals the lost race by raising `StaleVersion`
(`mongo.save_versioned` does).

    saved = await change(
        load=lambda: self.request(number),
        decide=lambda request: domain.withdraw(request, actor, self.now()),
        save=self._save,                 # (before, decided) -> what the caller gets back
        attempts=PERSON,
    )
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from services.common.errors import NotAllowedNow

A = TypeVar("A")  # the aggregate as loaded
C = TypeVar("C")  # the domain's decision (a change with its events)
R = TypeVar("R")  # what the save gives back

# A person decided on what they saw: one attempt, then 409.
PERSON = 1
# An event's effect is applied whatever else happened meanwhile: this many lost races at most.
EVENT = 50
# The pause after the n-th clash is random in [0, PAUSE_STEP * min(n, PAUSE_STEPS)] seconds.
PAUSE_STEP = 0.005
PAUSE_STEPS = 20


class StaleVersion(Exception):
    """The stored aggregate is no longer at the version the change was decided on."""

    def __init__(self, key: str) -> None:
        super().__init__(f"{key} changed meanwhile")
        self.key = key


class ChangedMeanwhile(NotAllowedNow):
    """Every attempt lost its race (409 to a person). A consumer retries the event later: it is
    no refusal of the rules."""

    def __init__(self) -> None:
        super().__init__(
            "It was changed meanwhile; reload it and try again.",
            "تغيّر في هذه الأثناء، يرجى إعادة التحميل والمحاولة مجدداً.",
        )


async def pause(clashes: int) -> None:
    """The pause after `clashes` lost races: random, so racing writers spread out."""
    await asyncio.sleep(random.uniform(0, PAUSE_STEP * min(clashes, PAUSE_STEPS)))


async def retrying(attempt: Callable[[], Awaitable[R]], *, attempts: int = EVENT) -> R:
    """Run `attempt` until it raises no `StaleVersion`, at most `attempts` times; then
    `ChangedMeanwhile`. For a change that is not one load-decide-save (several steps, or a
    store method that loads and saves itself)."""
    for tries in range(1, attempts + 1):
        try:
            return await attempt()
        except StaleVersion:
            if tries < attempts:
                await pause(tries)
    raise ChangedMeanwhile()


async def change(
    load: Callable[[], Awaitable[A]],
    decide: Callable[[A], C | None],
    save: Callable[[A, C], Awaitable[R]],
    *,
    attempts: int = EVENT,
) -> R | None:
    """Load, decide, save over the loaded version; on a lost race, do it all again.

    None when the domain decided there is nothing to do. A `DomainError` of `decide` or `load`
    (an unknown aggregate) is raised as it is."""

    async def attempt() -> R | None:
        current = await load()
        decided = decide(current)
        if decided is None:
            return None
        return await save(current, decided)

    return await retrying(attempt, attempts=attempts)
