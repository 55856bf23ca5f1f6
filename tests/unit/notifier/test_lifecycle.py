"""The notifier's process lifecycle, in process (the shared start and stop stubbed, the store's
claims faked): the sender starts after everything else, drains the message it is sending before
the shared shutdown, and the gateway is closed last."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from services.common import runtime as runtime_module
from services.common.clock import ManualClock
from services.common.runtime import Runtime, ServiceSpec
from services.notifier.app import build
from services.notifier.domain import Accepted
from services.notifier.gateways import OutgoingSms
from services.notifier.service import Notifier
from services.notifier.settings import NotifierSettings
from services.notifier.store import MESSAGES, Claimed

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


class RecordingGateway:
    name = "recording"

    def __init__(self, steps: list[str]) -> None:
        self.steps = steps

    async def send(self, sms: OutgoingSms) -> Accepted:
        raise AssertionError("send_due is stubbed: the gateway is not called")

    async def close(self) -> None:
        self.steps.append("gateway closed")


async def test_the_sender_drains_before_the_shared_stop_and_the_gateway_closes_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps: list[str] = []
    sending = asyncio.Event()
    settings = NotifierSettings(
        environment="test", notifier_send_poll_seconds=0.01, graceful_timeout_seconds=5
    )

    async def start(spec: ServiceSpec, *args: Any) -> Runtime:
        steps.append("shared start")
        runtime = Runtime(
            settings=settings,
            clock=ManualClock(NOW),
            db={MESSAGES: None},  # type: ignore[arg-type]
            **dict.fromkeys(
                ("calendar", "client", "broker", "publisher", "outbox", "inbox", "idempotency")
            ),
        )
        assert spec.setup is not None
        notifier: Notifier = spec.setup(runtime)
        runtime.service = notifier
        handed: list[str] = []

        async def due(now: datetime, limit: int) -> list[str]:
            return [] if handed else ["m-1"]

        async def claim(message_id: str, *args: Any) -> Claimed:
            handed.append(message_id)
            return Claimed({"_id": message_id}, started=True)

        async def release_previous_run(holder: str, owner: str) -> list[str]:
            return []  # nothing held by an earlier run of this sender

        monkeypatch.setattr(notifier.store, "due", due)
        monkeypatch.setattr(notifier.store, "claim", claim)
        monkeypatch.setattr(notifier.store, "release_previous_run", release_previous_run)
        return runtime

    async def send_due(self: Notifier, claimed: Claimed) -> None:
        steps.append(f"sending {claimed.document['_id']}")
        sending.set()
        await asyncio.sleep(0.1)
        steps.append(f"recorded {claimed.document['_id']}")

    async def stop(runtime: Runtime) -> None:
        steps.append("shared stop")

    monkeypatch.setattr(runtime_module, "_start", start)
    monkeypatch.setattr(runtime_module, "_stop", stop)
    monkeypatch.setattr(Notifier, "send_due", send_due)
    app = build(settings, gateway=RecordingGateway(steps))

    async with app.router.lifespan_context(app):
        await asyncio.wait_for(sending.wait(), 5)
        steps.append("shutdown begins")

    assert steps == [
        "shared start",
        "sending m-1",
        "shutdown begins",
        "recorded m-1",  # the message held is recorded while the database is still there
        "shared stop",
        "gateway closed",
    ]
