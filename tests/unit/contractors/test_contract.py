"""The contractors contract: a valid sample of each event's data, and each event round-trips.

`CONTRACTOR_SAMPLES` has the shape of `SAMPLES` in tests/unit/test_contracts.py, which takes them
(`SAMPLES.update(CONTRACTOR_SAMPLES)`).
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contracts import REGISTRY
from contracts.contractors import (
    SPECS,
    RenewalApproved,
    RenewalCancelled,
    RenewalCompleted,
    RenewalRejected,
    RenewalSubmitted,
)
from tests.unit.contract_checks import NOW, assert_every_event_has_a_sample, assert_round_trips

PERMIT = {
    "contractor_number": "C-10234",
    "contractor_name": {"ar": "مؤسسة النور للمقاولات", "en": "Al-Noor Contracting Est."},
    "permit_number": "P-2026-0112",
    "permit_year": 2026,
    "classification": "buildings",
    "category": "3",
}
BASE = {
    "request_number": "CP-2026-000123",
    "permit": PERMIT,
    "applicant": {"name": "مؤسسة النور للمقاولات", "phone": "+962791234567", "lang": "ar"},
    "owner_subject": "citizen-9f3a",
}

CONTRACTOR_SAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    RenewalSubmitted: {**BASE, "reason": "انتهاء المدة", "submitted_at": NOW.isoformat()},
    RenewalApproved: {
        **BASE,
        "fee_fils": 100000,
        "payment_reference": "contractors:CP-2026-000123:fee",
        "payment_due_at": "2026-11-30T20:59:59Z",
        "approved_at": NOW.isoformat(),
    },
    RenewalRejected: {
        **BASE,
        "reason": {"ar": "التصريح موقوف", "en": "The permit is suspended"},
        "rejected_at": NOW.isoformat(),
    },
    RenewalCompleted: {
        **BASE,
        "valid_from": "2027-01-01",
        "valid_to": "2027-12-31",
        "fee_fils": 0,
        "completed_at": NOW.isoformat(),
    },
    RenewalCancelled: {
        **BASE,
        "cause": "payment_expired",
        "payment_due_at": "2026-11-30T20:59:59Z",
        "at": NOW.isoformat(),
    },
}


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.routing_key)
def test_each_event_round_trips_through_its_envelope(spec: Any) -> None:
    assert_round_trips(
        spec, CONTRACTOR_SAMPLES, source_service="contractors", subject="CP-2026-000123"
    )


def test_every_contractors_event_has_a_sample() -> None:
    assert_every_event_has_a_sample(SPECS, CONTRACTOR_SAMPLES)


def test_every_event_is_registered_and_says_whether_the_applicant_hears_of_it() -> None:
    for spec in SPECS:
        assert REGISTRY.spec_for(spec.routing_key) is spec
        assert spec.notifies_applicant or spec.silent_because
    assert not REGISTRY.spec_for("contractors.renewal.approved.v1").notifies_applicant


def test_a_cancellation_names_one_of_its_causes() -> None:
    with pytest.raises(ValidationError):
        RenewalCancelled.model_validate({**CONTRACTOR_SAMPLES[RenewalCancelled], "cause": "x"})
