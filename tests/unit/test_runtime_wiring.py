"""The runtime's wiring helpers, in process: the sweeper factory and its after-pass hook."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from services.common.clock import ManualClock
from services.common.runtime import Runtime
from services.common.settings import ServiceSettings

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


class OneDueDocument:
    """Just enough of a collection for one sweep over one due document."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"_id": "d1", "due_at": NOW}

    def find(self, *args: Any) -> OneDueDocument:
        return self

    def sort(self, *args: Any) -> OneDueDocument:
        return self

    def limit(self, *args: Any) -> OneDueDocument:
        return self

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        yield {"_id": self.document["_id"]}

    async def find_one_and_update(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.document

    async def update_one(self, *args: Any, **kwargs: Any) -> None:
        return None


def a_runtime(settings: ServiceSettings) -> Runtime:
    return Runtime(
        settings=settings,
        clock=ManualClock(NOW),
        **dict.fromkeys(
            ("calendar", "client", "db", "broker", "publisher", "outbox", "inbox", "idempotency")
        ),
    )


async def test_the_sweeper_factory_uses_the_runtimes_clock_and_settings() -> None:
    settings = ServiceSettings(
        service_name="t", environment="test", sweeper_poll_seconds=7, sweeper_lease_seconds=90
    )
    runtime = a_runtime(settings)
    seen: list[str] = []

    async def act(document: dict[str, Any]) -> None:
        seen.append(document["_id"])

    async def after() -> None:
        seen.append("after")

    sweeper = runtime.sweeper(
        "due",
        OneDueDocument(),
        act,
        field="due_at",
        after_sweep=after,  # type: ignore[arg-type]
    )

    assert sweeper.name == "due"
    assert sweeper._clock is runtime.clock
    assert sweeper._field == "due_at"
    assert sweeper._poll_seconds == 7
    assert sweeper._lease.total_seconds() == 90
    assert await sweeper.sweep() == 1
    assert seen == ["d1", "after"]
