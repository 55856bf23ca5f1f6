"""The training contract: a valid sample of each event's data, and each event round-trips.

`TRAINING_SAMPLES` has the shape of `SAMPLES` in tests/unit/test_contracts.py, so that the shared
round-trip test can take them too (`SAMPLES.update(TRAINING_SAMPLES)`).
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from contracts.training import (
    SPECS,
    TrainingAttachmentsRejected,
    TrainingPostponed,
    TrainingPostponementOffered,
    TrainingRequestApproved,
    TrainingRequestCancelled,
    TrainingRequestCompleted,
    TrainingRequestRejected,
    TrainingRequestSubmitted,
)
from tests.unit.contract_checks import NOW, assert_every_event_has_a_sample, assert_round_trips

APPLICANT = {"name": "سامي خالد", "phone": "+962791234567", "lang": "ar"}
DETAILS = {
    "kind": "training",
    "department_code": "gis",
    "department": {"ar": "دائرة نظم المعلومات الجغرافية", "en": "GIS Department"},
    "start_date": "2026-12-06",
    "end_date": "2026-12-31",
    "course": {
        "code": "arcgis_pro",
        "name": {"ar": "دورة ArcGIS Pro", "en": "ArcGIS Pro course"},
        "hours": 30,
        "fee_fils": 200000,
    },
    "fee_fils": 200000,
}
BASE = {
    "request_number": "TR-2026-000045",
    "details": DETAILS,
    "applicant": APPLICANT,
    "owner_subject": "citizen-9f3a",
}

TRAINING_SAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    TrainingRequestSubmitted: {**BASE, "submitted_at": NOW.isoformat()},
    TrainingAttachmentsRejected: {
        **BASE,
        "note": {"ar": "الكتاب غير مختوم", "en": "the letter is not stamped"},
        "correct_by": "2026-11-26T22:00:00Z",
    },
    TrainingRequestRejected: {**BASE, "reasons": {"ar": "لا يوجد شاغر", "en": "no vacancy"}},
    TrainingRequestApproved: {**BASE, "is_paid": True},
    TrainingPostponementOffered: {
        **BASE,
        "latest_start_date": "2027-01-06",
        "choose_by": "2027-01-05T22:00:00Z",
    },
    TrainingPostponed: {**BASE, "previous_start_date": "2026-12-01"},
    TrainingRequestCancelled: {
        **BASE,
        "reason_code": "no_show_after_postponement",
        "reason": {"ar": "عدم الحضور", "en": "no-show"},
        "withheld_fils": 50000,
        "refund_fils": 150000,
        "refund_needs_approval": True,
    },
    TrainingRequestCompleted: BASE,
}


def test_every_training_event_is_registered_and_has_a_sample() -> None:
    assert_every_event_has_a_sample(SPECS, TRAINING_SAMPLES, "training")
    for spec in SPECS:
        assert spec.notifies_applicant, spec.routing_key


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.routing_key)
def test_every_training_event_round_trips(spec: Any) -> None:
    assert_round_trips(spec, TRAINING_SAMPLES, source_service="training", subject="TR-2026-000045")


def test_a_cancellation_without_refund_defaults_to_nothing_withheld() -> None:
    data = TrainingRequestCancelled.model_validate(
        {**BASE, "reason_code": "not_paid", "reason": {"ar": "لم تُدفع", "en": "not paid"}}
    )

    assert (data.withheld_fils, data.refund_fils, data.refund_needs_approval) == (0, 0, False)
