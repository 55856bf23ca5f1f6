"""Wiring of the licensing service: its router, indexes, bill queue and the SLA sweeper."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.runtime import Runtime, ServiceSpec, create_app
from services.common.sweeper import DeadlineSweeper
from services.licensing import api, consumers, reference, store
from services.licensing.service import Licensing
from services.licensing.settings import LicensingSettings

DESCRIPTION = """A first professional (vocational) licence for a business inside a camp (seed 000).

Individuals and businesses apply with the occupancy permit and a lease contract or the
housing-unit allocation document; the clerk checks the documents, the inspector inspects the
premises, the committee decides (after other authorities' approvals when needed); the approved fee
(by profession and area, from the fee schedule) is billed by payments and the licence issued on
payment, with a public verification link. Each step is an SMS to the applicant."""


def build(settings: LicensingSettings | None = None) -> FastAPI:
    settings = settings or LicensingSettings()
    data = reference.load(
        settings.licensing_fee_schedule_file,
        settings.licensing_camps_file,
        settings.licensing_authorities_file,
    )

    def setup(runtime: Runtime) -> Licensing:
        return Licensing(
            store.LicensingStore(runtime.db, runtime.outbox),
            data,
            runtime.clock,
            runtime.calendar,
            settings,
        )

    def sweepers(runtime: Runtime) -> list[DeadlineSweeper]:
        licensing: Licensing = runtime.service
        return [
            runtime.sweeper(
                "sla", licensing.store.requests, licensing.check_sla, field=store.SLA_CHECK_AT
            )
        ]

    spec = ServiceSpec(
        name="licensing",
        title="Licensing",
        description=DESCRIPTION,
        routers=[api.router],
        indexes=store.INDEXES,
        outbox_collections=[store.REQUESTS],
        setup=setup,
        consumers=consumers.consumers,
        sweepers=sweepers,
    )
    return create_app(spec, settings)
