"""Wiring of the contractors service: fee schedule, routers, indexes, queue, sweepers,
the command relay of the one-time codes, and the sample registry in local runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from fastapi import FastAPI

from contracts import CONTENT_TYPE
from services.common.documents import DocumentsSpec
from services.common.outbox import Outbox, OutboxEntry, OutboxRelay
from services.common.runtime import Runtime, ServiceSpec, create_app
from services.common.sweeper import DeadlineSweeper
from services.contractors import api, consumers, registry, store
from services.contractors.domain import RENEWED_PERMIT, FeeSchedule
from services.contractors.service import Contractors
from services.contractors.settings import ContractorsSettings

logger = logging.getLogger(__name__)

FEES_FILE = Path(__file__).resolve().with_name("fees.json")

DESCRIPTION = """Renewal of a contractor's permit (seed 001).

A citizen finds the permit with the contractor number, permit number and permit year
(`POST /v1/lookups` answers the contractor's name), asks for a one-time code by SMS to a
Jordanian mobile (`POST /v1/verifications`), and submits the renewal with its reason, the phone
and the code (`POST /v1/requests`); the request number arrives by SMS. Reviewers
(`contractors.reviewer`) approve or reject with a reason; the fee of the contractor's
classification is billed by payments (its SMS carries the e-payment number), or the renewal
completes at once when free; on completion the permit's new validity is written to the registry
and sent by SMS, and the renewed permit is issued as a PDF (`GET /v1/documents`), which anyone it
is shown to checks on its public page (`GET /v1/verify/{id}`, the QR code on it). Registrars
(`contractors.registrar`) import the registry (CSV or JSON)."""


def load_fees(path: Path | None) -> FeeSchedule:
    raw = json.loads((path or FEES_FILE).read_text(encoding="utf-8"))
    raw.pop("_comment", None)
    return FeeSchedule.model_validate(raw)


class CommandPublisher:
    """Publishes a verification's sealed `notifier.sms.send` command to `amman.commands`."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def publish(self, entry: OutboxEntry) -> None:
        service: Contractors = self._runtime.service
        await self._runtime.publisher.send_command(
            entry.routing_key,
            service.open_command(entry.body),
            message_id=entry.id,
            content_type=CONTENT_TYPE,
        )


def build(settings: ContractorsSettings | None = None) -> FastAPI:
    settings = settings or ContractorsSettings()
    fees = load_fees(settings.contractors_fees_file)
    command_outbox = Outbox()

    def setup(runtime: Runtime) -> Contractors:
        return Contractors(
            store.ContractorStore(
                runtime.db,
                runtime.outbox,
                command_outbox,
                runtime.documents.written if runtime.documents is not None else None,
            ),
            fees,
            runtime.clock,
            runtime.calendar,
            secret=settings.otp_secret(),
            policy=settings.policy(),
            limits=settings.limits(),
            payment_working_days=settings.contractors_payment_working_days,
            dev_code=settings.contractors_otp_dev_code,
            code_key=settings.code_key(),
        )

    def sweepers(runtime: Runtime) -> list[DeadlineSweeper]:
        service: Contractors = runtime.service
        return [
            runtime.sweeper(
                "registry-write",
                service.store.requests,
                service.finish_registry,
                field=store.REGISTRY_DUE_AT,
            ),
            runtime.sweeper(
                "verification-prune",
                service.store.verifications,
                service.store.prune_verification,
                field=store.PRUNE_AT,
            ),
            runtime.sweeper(
                "rate-limit-prune",
                service.store.rate_limits,
                service.store.prune_rate_limit,
                field=store.PRUNE_AT,
            ),
        ]

    async def load_registry(runtime: Runtime) -> None:
        """The registry file of local runs (upserted: harmless if already there)."""
        path = settings.registry_file()
        if path is None:
            return
        content = await asyncio.to_thread(path.read_bytes)
        parsed = registry.parse(content, registry.kind_of(path))
        if parsed.errors:
            logger.error("registry file %s: %d bad row(s), not loaded", path, len(parsed.errors))
            return
        service: Contractors = runtime.service
        report = await service.import_registry(parsed)
        logger.info("registry file %s loaded: %s", path, report)

    def command_relay(runtime: Runtime) -> list[OutboxRelay]:
        """Relays the sealed one-time-code commands from `verifications` to `amman.commands`
        (the shared relay publishes to `amman.events` only, where a secret must never go)."""
        relay = OutboxRelay(
            runtime.db,
            [store.VERIFICATIONS],
            CommandPublisher(runtime),
            command_outbox,
            runtime.clock,
            poll_seconds=settings.outbox_poll_seconds,
            lease_seconds=settings.outbox_lease_seconds,
        )
        return [relay]

    spec = ServiceSpec(
        name="contractors",
        title="Contractors",
        description=DESCRIPTION,
        routers=[api.router],
        indexes=store.INDEXES,
        outbox_collections=[store.REQUESTS],
        setup=setup,
        consumers=consumers.consumers,
        sweepers=sweepers,
        on_start=load_registry,
        loops=command_relay,
        # The renewed permit: issued when a renewal completes (staged in the request's write),
        # revoked when an import revokes the permit (staged in the permit's write).
        documents=DocumentsSpec(
            kinds=[RENEWED_PERMIT], collections=[store.REQUESTS, registry.PERMITS]
        ),
    )
    return create_app(spec, settings)
