"""Wiring of the notifier: its gateway, its two queues, its sweeper and its sender.

The only place where the notifier's parts are built; nothing connects at import. `build` takes
an optional gateway so that a test or a benchmark can plug in its own.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI

from services.common import codeseal
from services.common.runtime import Runtime, ServiceSpec, create_app
from services.common.settings import DEV_KEYS_DIR, Environment
from services.common.sweeper import DeadlineSweeper
from services.notifier import api, catalogue, store
from services.notifier.consumers import consumers
from services.notifier.gateways import RateLimiter, SmsGateway
from services.notifier.sender import DueMessages, Sender
from services.notifier.service import Notifier, Sealer
from services.notifier.settings import NotifierSettings as NotifierSettings
from services.notifier.smpp_gateway import SmppGateway
from services.notifier.store.smpp import INDEXES as SMPP_INDEXES
from services.notifier.store.smpp import SmppStore


def build(
    settings: NotifierSettings | None = None, *, gateway: SmsGateway | None = None
) -> FastAPI:
    settings = settings or NotifierSettings()
    due = DueMessages()

    def setup(runtime: Runtime) -> Notifier:
        limiter = RateLimiter(settings.notifier_rate_limit_per_second)
        notifier = Notifier(
            store=store.MessageStore(runtime.db, runtime.outbox),
            catalogue=catalogue.load(),
            gateway=gateway or settings.gateway(),
            limiter=limiter,
            policy=settings.retry_policy(),
            clock=runtime.clock,
            sealer=Sealer(settings.sealing_key()),
            code_key=codeseal.load_private_key(
                settings.notifier_code_private_key.get_secret_value()
                if settings.notifier_code_private_key
                else None,
                settings.notifier_code_private_key_file,
                production=settings.environment is Environment.PRODUCTION,
                dev_dir=DEV_KEYS_DIR,
            ),
            receipt_secret=settings.notifier_receipt_secret.get_secret_value().encode(),
            due=due,
        )
        if isinstance(notifier.gateway, SmppGateway):
            # Its receipts come on its own link: applied as the HTTP receipts are.
            notifier.gateway.attach(SmppStore(runtime.db), notifier.apply_receipt, limiter)
        return notifier

    def sweepers(runtime: Runtime) -> list[DeadlineSweeper]:
        notifier: Notifier = runtime.service
        unconfirmed = runtime.sweeper(
            "unconfirmed",
            notifier.store.messages,
            notifier.expire_unconfirmed,
            field=store.CONFIRM_BY,
        )
        return [unconfirmed]

    def sender(runtime: Runtime) -> list[Sender | SmppGateway]:
        """The sender runs last and stops first: the message it holds is recorded while the
        database is still there. It is not a deadline sweeper (see sender.py)."""
        notifier: Notifier = runtime.service
        sender = Sender(
            notifier.store,
            notifier.send_due,
            runtime.clock,
            due,
            workers=settings.notifier_send_workers,
            poll_seconds=settings.notifier_send_poll_seconds,
            lease_seconds=settings.notifier_send_lease_seconds,
            holder=settings.sender_holder(),
        )
        if isinstance(notifier.gateway, SmppGateway):
            return [notifier.gateway, sender]  # the link keeper binds while the sender starts
        return [sender]

    def readiness(runtime: Runtime) -> dict[str, tuple[bool, Any]]:
        notifier: Notifier = runtime.service
        if isinstance(notifier.gateway, SmppGateway):
            return {"smpp": notifier.gateway.health()}
        return {}

    async def close_gateway(runtime: Runtime) -> None:
        """The gateway's connections are closed last, once nothing can send any more."""
        notifier: Notifier = runtime.service
        await notifier.gateway.close()

    spec = ServiceSpec(
        name="notifier",
        title="Notifier",
        description=(
            "Every SMS of the Greater Amman Municipality e-services, in Arabic and English: "
            "sent once per event, retried, and tracked to delivery."
        ),
        routers=[api.router],
        indexes=[*store.INDEXES, *SMPP_INDEXES],
        outbox_collections=[store.MESSAGES],
        setup=setup,
        consumers=consumers,
        sweepers=sweepers,
        loops=sender,
        on_stop=close_gateway,
        readiness=readiness,
    )
    app = create_app(spec, settings)
    _keep_query_strings_out_of_access_logs()
    return app


class _WithoutQuery(logging.Filter):
    """Staff search by phone number (`?phone=...`): access logs keep the path only."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def _keep_query_strings_out_of_access_logs() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, _WithoutQuery) for existing in access.filters):
        access.addFilter(_WithoutQuery())
