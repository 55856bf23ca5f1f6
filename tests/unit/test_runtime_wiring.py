"""The runtime's wiring, in process (the shared start and stop stubbed): the sweeper factory and
its after-pass hook, the service's own loops and its start/stop hooks, in their order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.common import runtime as runtime_module
from services.common.clock import ManualClock
from services.common.runtime import Runtime, ServiceSpec, create_app
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


# ---- the service's own loops and start/stop hooks ------------------------------------------


class Recorder:
    """Stands in for the shared start and stop (no broker, no database) and records the order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, settings: ServiceSettings) -> None:
        self.steps: list[str] = []
        self.runtime = a_runtime(settings)

        async def start(spec: ServiceSpec, *args: Any) -> Runtime:
            self.steps.append("shared start")
            if spec.setup is not None:
                self.runtime.service = spec.setup(self.runtime)
            return self.runtime

        async def stop(runtime: Runtime) -> None:
            self.steps.append("shared stop")

        monkeypatch.setattr(runtime_module, "_start", start)
        monkeypatch.setattr(runtime_module, "_stop", stop)


class StepLoop:
    """A loop that, asked to stop, takes `finish_seconds` to finish what it holds."""

    def __init__(self, steps: list[str], finish_seconds: float = 0.0) -> None:
        self.steps = steps
        self.finish_seconds = finish_seconds
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        self.steps.append("loop runs")
        await self._stopping.wait()
        await asyncio.sleep(self.finish_seconds)
        self.steps.append("loop finished")

    def stop(self) -> None:
        self.steps.append("loop asked to stop")
        self._stopping.set()


def settings_for(**values: Any) -> ServiceSettings:
    return ServiceSettings(service_name="t", environment="test", **values)


async def test_hooks_and_loops_run_after_the_shared_start_and_stop_before_the_shared_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = Recorder(monkeypatch, settings_for())
    steps = recorder.steps

    async def on_start(runtime: Runtime) -> None:
        steps.append("on_start")

    async def on_stop(runtime: Runtime) -> None:
        steps.append("on_stop")

    spec = ServiceSpec(
        name="t",
        title="t",
        description="t",
        on_start=on_start,
        loops=lambda runtime: [StepLoop(steps, finish_seconds=0.05)],
        on_stop=on_stop,
    )
    app = create_app(spec, recorder.runtime.settings, clock=recorder.runtime.clock)
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0.01)
        steps.append("serving")

    assert steps == [
        "shared start",
        "on_start",
        "loop runs",
        "serving",
        "loop asked to stop",
        "loop finished",  # waited for: it finishes what it holds
        "shared stop",
        "on_stop",
    ]


async def test_a_loop_that_outlives_the_graceful_timeout_is_cancelled(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = Recorder(monkeypatch, settings_for(graceful_timeout_seconds=0.05))
    steps = recorder.steps
    spec = ServiceSpec(
        name="t",
        title="t",
        description="t",
        loops=lambda runtime: [StepLoop(steps, finish_seconds=30)],
    )
    app = create_app(spec, recorder.runtime.settings, clock=recorder.runtime.clock)
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0.01)

    assert steps == ["shared start", "loop runs", "loop asked to stop", "shared stop"]
    # The service's JSON log goes to stdout.
    assert "t:StepLoop did not stop within 0s" in capsys.readouterr().out
