"""Wiring of the training service: its router, indexes, payments queue and deadline sweeper."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.documents import DocumentsSpec
from services.common.runtime import Runtime, ServiceSpec, create_app
from services.common.sweeper import DeadlineSweeper
from services.training import api, consumers, store
from services.training.domain.letters import KINDS
from services.training.service import Training
from services.training.settings import TrainingSettings

DESCRIPTION = """Training, and mission facilitation, for students and delegates (seed 003).

A student or delegate nominated by an institution (with its signed and stamped letter), or an
individual (with a copy of their certificate), asks to train in a department of the municipality
or to be helped with a study (a mission). Reviewers check the attachment, approve or reject;
an individual's GIS training is paid per course; supervisors record attendance; a no-show at
paid GIS training may be postponed once; at the end of the period the applicant is told what
follows. Every step is an SMS. The approval and completion letters are PDFs with a QR code that
opens their public verification page (`/v1/documents`, `/v1/verify/{id}`)."""


def build(settings: TrainingSettings | None = None) -> FastAPI:
    settings = settings or TrainingSettings()
    catalogue = settings.catalogue()

    def setup(runtime: Runtime) -> Training:
        assert runtime.documents is not None  # the spec declares the letters
        return Training(
            store.TrainingStore(runtime.db, runtime.outbox, runtime.documents),
            catalogue,
            runtime.clock,
            runtime.calendar,
            settings.training_max_upload_bytes,
        )

    def sweepers(runtime: Runtime) -> list[DeadlineSweeper]:
        # Acts on `due_at`, then refreshes the review-SLA gauge from the database (every replica
        # reports the same figures; a restart loses nothing).
        training: Training = runtime.service
        deadline = runtime.sweeper(
            "request-deadline",
            training.store.requests,
            training.on_deadline,
            field=store.DUE_AT,
            after_sweep=training.report_sla,
        )
        return [deadline]

    spec = ServiceSpec(
        name="training",
        title="Training and mission facilitation",
        description=DESCRIPTION,
        routers=[api.router],
        indexes=store.INDEXES,
        outbox_collections=[store.REQUESTS],
        setup=setup,
        consumers=consumers.consumers,
        sweepers=sweepers,
        # The approval and completion letters (domain/letters.py), staged in the request's write.
        documents=DocumentsSpec(kinds=list(KINDS), collections=[store.REQUESTS]),
    )
    return create_app(spec, settings)
