"""The licensing contract: a valid sample of each event's data, and each event round-trips.

`LICENSING_SAMPLES` has the shape of `SAMPLES` in tests/unit/test_contracts.py, so that the shared
round-trip test can take them too (`SAMPLES.update(LICENSING_SAMPLES)`).
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contracts.licensing import (
    SPECS,
    CommitteeDecided,
    DocumentsRejected,
    ExternalApprovalRefused,
    ExternalApprovalRequired,
    InspectionScheduled,
    LicenceIssued,
    LicensingRequestSubmitted,
    LicensingRequestWithdrawn,
    PaymentExpired,
    RectificationRequired,
)
from tests.unit.contract_checks import NOW, assert_every_event_has_a_sample, assert_round_trips

APPLICANT = {
    "name": "محمود خليل",
    "phone": "+962791234567",
    "lang": "ar",
    "national_id": "9861012345",
}
REQUEST = {
    "trade_name": "بقالة الأمل",
    "profession_code": "grocery",
    "profession": {"ar": "بقالة", "en": "Grocery"},
    "camp_code": "wehdat",
    "camp": {"ar": "مخيم الوحدات", "en": "Al-Wehdat (Amman New Camp)"},
    "area_m2": 35.5,
}
BASE = {
    "request_number": "LC-2026-000123",
    "request": REQUEST,
    "applicant": APPLICANT,
    "owner_subject": "citizen-9f3a",
}
CIVIL_DEFENCE = {"ar": "المديرية العامة للدفاع المدني", "en": "Civil Defence"}

LICENSING_SAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    LicensingRequestSubmitted: {
        **BASE,
        "submitted_at": NOW.isoformat(),
        "fee_fils": 33000,
        "target_at": "2026-11-25T21:00:00Z",
    },
    DocumentsRejected: {
        **BASE,
        "documents": [
            {
                "document": "occupancy_permit",
                "name": {"ar": "إذن الإشغال", "en": "occupancy permit"},
                "issue": "wrong",
                "note": "منتهي الصلاحية",
            }
        ],
        "check_count": 1,
    },
    InspectionScheduled: {
        **BASE,
        "inspection_at": "2026-11-25T08:30:00Z",
        "is_reinspection": False,
    },
    RectificationRequired: {
        **BASE,
        "findings": "لا توجد طفاية حريق",
        "inspected_at": NOW.isoformat(),
    },
    CommitteeDecided: {**BASE, "decision": "approved", "fee_fils": 33000},
    ExternalApprovalRequired: {
        **BASE,
        "authority_codes": ["civil_defence"],
        "authorities": [CIVIL_DEFENCE],
    },
    ExternalApprovalRefused: {
        **BASE,
        "authority_code": "civil_defence",
        "authority": CIVIL_DEFENCE,
        "is_civil_defence": True,
    },
    PaymentExpired: {**BASE, "e_payment_number": "2026000123457", "at": NOW.isoformat()},
    LicenceIssued: {
        **BASE,
        "licence_number": "PL-2026-000042",
        "issued_at": NOW.isoformat(),
        "valid_until": "2026-12-31T20:59:59Z",
        "verification_url": "https://eservices.amman.jo/v1/licences/Xq3v9kP2mN8rT5wY7zA1bC4dE6fG0hJ",
        "e_payment_number": "2026000123457",
    },
    LicensingRequestWithdrawn: {**BASE, "at": NOW.isoformat()},
}


def test_every_licensing_event_is_registered_and_has_a_sample() -> None:
    assert_every_event_has_a_sample(SPECS, LICENSING_SAMPLES, "licensing")
    for spec in SPECS:
        assert spec.notifies_applicant, spec.routing_key


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.routing_key)
def test_every_licensing_event_round_trips(spec: Any) -> None:
    assert_round_trips(
        spec, LICENSING_SAMPLES, source_service="licensing", subject="LC-2026-000123"
    )


def test_a_decision_is_approved_or_not_approved_only() -> None:
    with pytest.raises(ValidationError):
        CommitteeDecided.model_validate(
            {**LICENSING_SAMPLES[CommitteeDecided], "decision": "maybe"}
        )


def test_a_document_check_names_at_least_one_document() -> None:
    with pytest.raises(ValidationError):
        DocumentsRejected.model_validate({**LICENSING_SAMPLES[DocumentsRejected], "documents": []})
