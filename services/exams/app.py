"""Wiring of the exams service: its settings, catalogue, routers, indexes, queues and sweeper.

The only place where the service's parts are built; nothing connects at import. The catalogue is
read and checked here, at start-up, so a broken catalogue file stops the service at once.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.runtime import Runtime, ServiceSpec, create_app
from services.common.settings import ServiceSettings
from services.common.sweeper import DeadlineSweeper
from services.exams import api, catalogue, consumers, store
from services.exams.service import Exams

DESCRIPTION = """Requests to hold an official or a trial exam at the municipality's Knowledge
Stations (seed 004).

A citizen picks an exam of the catalogue (`GET /v1/catalogue`) and confirms a request; the fee's
e-payment number arrives by SMS. Once paid, a **trial** exam can be taken any time during working
hours; an **official** exam waits until its session has the minimum of paid candidates, then a
coordinator sets the date agreed with the granting body (within one working week) and every
candidate gets it by SMS. Coordinators (`exams.coordinator`) record attendance, results and the
certificate's collection. The request-inquiry screen is `GET /v1/requests/{number}`."""


class ExamsSettings(ServiceSettings):
    """The exams service's own settings (`EXAMS_*`), documented in its README."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "exams"
    # The catalogue the municipality publishes; the shipped sample when unset.
    exams_catalogue_file: Path | None = None
    # How long an applicant has to pay the fee, in working days after confirming.
    exams_payment_working_days: int = Field(default=3, ge=1, le=30)
    # A session waiting for a date counts as "nearing" its SLA this many hours before it.
    exams_sla_nearing_hours: float = Field(default=24.0, gt=0)


def build(settings: ExamsSettings | None = None) -> FastAPI:
    settings = settings or ExamsSettings()
    exam_catalogue = catalogue.load(settings.exams_catalogue_file)

    def setup(runtime: Runtime) -> Exams:
        return Exams(
            store.ExamStore(runtime.db, runtime.outbox),
            exam_catalogue,
            runtime.clock,
            runtime.calendar,
            payment_working_days=settings.exams_payment_working_days,
            sla_nearing=timedelta(hours=settings.exams_sla_nearing_hours),
        )

    def sweepers(runtime: Runtime) -> list[DeadlineSweeper]:
        # Marks sessions overdue as their date deadline passes, then refreshes the SLA gauge.
        # The gauge is recomputed from the database on every pass (not counted up and down), so
        # every replica reports the same figures and a restart loses nothing.
        exams: Exams = runtime.service
        overdue = runtime.sweeper(
            "session-date-overdue",
            exams.store.sessions,
            exams.mark_overdue,
            field=store.OVERDUE_CHECK_AT,
            after_sweep=exams.report_sla,
        )
        return [overdue]

    spec = ServiceSpec(
        name="exams",
        title="Exams",
        description=DESCRIPTION,
        routers=[api.router],
        indexes=store.INDEXES,
        outbox_collections=[store.REQUESTS, store.SESSIONS],
        setup=setup,
        consumers=consumers.consumers,
        sweepers=sweepers,
    )
    return create_app(spec, settings)
