"""Wiring of the exams service: its catalogue, routers, indexes, queues and sweeper.

The only place where the service's parts are built; nothing connects at import. The catalogue is
read and checked here, at start-up, so a broken catalogue file stops the service at once.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.common.documents import DocumentsSpec
from services.common.runtime import Runtime, ServiceSpec, create_app
from services.common.sweeper import DeadlineSweeper
from services.exams import api, catalogue, consumers, domain, store
from services.exams.service import Exams
from services.exams.settings import ExamsSettings

DESCRIPTION = """Requests to hold an official or a trial exam at the municipality's Knowledge
Stations (seed 004).

A citizen picks an exam of the catalogue (`GET /v1/catalogue`) and confirms a request; the fee's
e-payment number arrives by SMS. Once paid, a **trial** exam can be taken any time during working
hours; an **official** exam waits until its session has the minimum of paid candidates, then a
coordinator sets the date agreed with the granting body (within one working week) and every
candidate gets it by SMS. Coordinators (`exams.coordinator`) record attendance, results and the
certificate's collection. The request-inquiry screen is `GET /v1/requests/{number}`.

The candidate keeps two PDFs (`GET /v1/documents`): the result slip, issued when the result is
recorded, and the notice that the certificate is ready, issued with a pass and revoked once the
certificate is collected; anyone shown one checks it at `GET /v1/verify/{id}`, its QR code."""


def build(settings: ExamsSettings | None = None) -> FastAPI:
    settings = settings or ExamsSettings()
    exam_catalogue = catalogue.load(settings.exams_catalogue_file)

    def setup(runtime: Runtime) -> Exams:
        assert runtime.documents is not None  # the spec declares documents
        return Exams(
            store.ExamStore(runtime.db, runtime.outbox, runtime.documents),
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
        # The result slip and the certificate-ready notice (domain/documents.py), staged in the
        # requests' own writes.
        documents=DocumentsSpec(kinds=domain.KINDS, collections=[store.REQUESTS]),
    )
    return create_app(spec, settings)
