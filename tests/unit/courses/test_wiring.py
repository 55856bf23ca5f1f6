"""The wiring, without starting anything: the OpenAPI document, the queue and its handlers."""

from __future__ import annotations

from contracts import REGISTRY
from services.courses import consumers
from services.courses.app import build
from services.courses.service import Courses
from services.courses.settings import CoursesSettings


def test_the_openapi_document_lists_every_route_with_problem_free_schemas() -> None:
    schema = build(CoursesSettings(environment="test")).openapi()

    paths = set(schema["paths"])
    assert {
        "/v1/courses",
        "/v1/courses/{code}",
        "/v1/courses/{code}/publish",
        "/v1/courses/{code}/reschedule",
        "/v1/courses/{code}/held",
        "/v1/courses/{code}/requests",
        "/v1/requests",
        "/v1/requests/{number}",
        "/v1/requests/{number}/placement-test-result",
        "/v1/requests/{number}/proof",
        "/v1/requests/{number}/proof/review",
    } <= paths


def test_the_bill_queue_has_a_handler_for_every_key_it_binds() -> None:
    courses = Courses(None, None, CoursesSettings(environment="test"))  # type: ignore[arg-type]
    handled = set(consumers.handlers(courses))

    assert handled == set(consumers.BILL_OUTCOMES)
    assert all(key in REGISTRY for key in handled)
