"""The courses contract: a valid sample of each event's data, and each event round-trips.

`COURSE_SAMPLES` has the shape of `SAMPLES` in tests/unit/test_contracts.py, so that the shared
round-trip test can take them too (`SAMPLES.update(COURSE_SAMPLES)`).
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from contracts.courses import (
    SPECS,
    CourseEvaluationRequested,
    CourseRequestApproved,
    CourseRequestCancelled,
    CourseRequestPaid,
    CourseRequestRefused,
    CourseRequestRescheduled,
    CourseRequestSubmitted,
    PlacementTestRequired,
)
from tests.unit.contract_checks import NOW, assert_every_event_has_a_sample, assert_round_trips

APPLICANT = {
    "name": "ليلى أحمد",
    "phone": "+962791234567",
    "lang": "ar",
    "national_id": "9901234567",
}
COURSE = {
    "code": "CO-2026-000007",
    "title": {"ar": "أساسيات البرمجة", "en": "Programming basics"},
    "starts_at": "2026-12-06T14:00:00Z",
    "schedule": {"ar": "الأحد والثلاثاء 5-7 مساءً", "en": "Sun and Tue 5-7 pm"},
    "place": {"ar": "المحطة المعرفية - ماركا", "en": "Knowledge Station, Marka"},
    "fee_fils": 30000,
}
SUBJECT = {"ar": "أساسيات الحاسوب", "en": "computer basics"}
BASE = {
    "request_number": "CR-2026-000123",
    "course": COURSE,
    "applicant": APPLICANT,
    "owner_subject": "citizen-9f3a",
}

COURSE_SAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    CourseRequestSubmitted: {**BASE, "submitted_at": NOW.isoformat()},
    CourseRequestApproved: BASE,
    PlacementTestRequired: {
        **BASE,
        "subject": SUBJECT,
        "placement_test_url": "https://tests.amman.jo/p/computer-basics",
    },
    CourseRequestRefused: {**BASE, "subject": SUBJECT},
    CourseRequestPaid: {**BASE, "e_payment_number": "2026000123457", "paid_at": NOW.isoformat()},
    CourseRequestCancelled: {
        **BASE,
        "reason": {"ar": "لم تُدفع الرسوم", "en": "the fee was not paid"},
    },
    CourseRequestRescheduled: {
        **BASE,
        "previous_starts_at": "2026-11-29T14:00:00Z",
        "minimum_not_reached": True,
    },
    CourseEvaluationRequested: {**BASE, "evaluation_url": "https://eval.amman.jo/c/1"},
}


def test_every_courses_event_is_registered_and_has_a_sample() -> None:
    assert_every_event_has_a_sample(SPECS, COURSE_SAMPLES, "courses")


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.routing_key)
def test_every_courses_event_round_trips(spec: Any) -> None:
    assert_round_trips(spec, COURSE_SAMPLES, source_service="courses", subject="CR-2026-000123")
