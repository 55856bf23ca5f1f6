"""Wiring of the courses service: its router, indexes, bill queue and the two course sweepers."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.documents import DocumentsSpec
from services.common.runtime import Runtime, ServiceSpec, create_app
from services.common.sweeper import DeadlineSweeper
from services.courses import api, consumers, store
from services.courses.domain import ENROLMENT_CONFIRMATION
from services.courses.service import Courses
from services.courses.settings import CoursesSettings

DESCRIPTION = """Requests to attend a course at a Knowledge Station (seed 002).

Staff create and publish courses (free or paid, with or without a prerequisite and its placement
test, a minimum number of participants and a capacity). Citizens ask to attend; the decision waits
for the minimum, then each request is decided by its branch. A course whose start comes without
its minimum is rescheduled; unpaid requests are cancelled at the start; after the course is held,
each participant gets the evaluation link. A confirmed booking is a PDF the citizen keeps (the
enrolment confirmation, `/v1/documents`), checked by anyone on its public verification page."""


def build(settings: CoursesSettings | None = None) -> FastAPI:
    settings = settings or CoursesSettings()

    def setup(runtime: Runtime) -> Courses:
        courses_store = store.CourseStore(runtime.db, runtime.outbox, runtime.documents)
        return Courses(courses_store, runtime.clock, settings)

    def sweepers(runtime: Runtime) -> list[DeadlineSweeper]:
        courses: Courses = runtime.service
        return [
            runtime.sweeper(
                "course-start",
                courses.store.courses,
                courses.start_course,
                field=store.START_DUE_AT,
            ),
            runtime.sweeper(
                "seat-check", courses.store.requests, courses.check_seat, field=store.SEAT_CHECK_AT
            ),
            runtime.sweeper(
                "course-sync", courses.store.courses, courses.sync_from_sweeper, field=store.SYNC_AT
            ),
        ]

    spec = ServiceSpec(
        name="courses",
        title="Courses",
        description=DESCRIPTION,
        routers=[api.router],
        indexes=store.INDEXES,
        outbox_collections=[store.REQUESTS],
        setup=setup,
        consumers=consumers.consumers,
        sweepers=sweepers,
        # The enrolment confirmation, staged by the request's change that approves it.
        documents=DocumentsSpec(kinds=[ENROLMENT_CONFIRMATION], collections=[store.REQUESTS]),
    )
    return create_app(spec, settings)
