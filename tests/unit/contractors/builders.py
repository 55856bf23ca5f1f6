"""Builders of the contractors domain's values for the unit tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from contracts import LocalizedText
from services.contractors import domain
from services.contractors.domain import Actor, Contractor, FeeRule, FeeSchedule, Permit

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 12:00 in Amman
CITIZEN = Actor("citizen-1", frozenset({domain.CITIZEN}))
REVIEWER = Actor("reviewer-1", frozenset({domain.REVIEWER}))
FEES = FeeSchedule(
    default_fils=50_000,
    rules=(
        FeeRule(classification="buildings", category="3", fee_fils=100_000),
        FeeRule(classification="buildings", fee_fils=75_000),
        FeeRule(classification="maintenance", fee_fils=0),
    ),
)


def contractor(classification: str = "buildings", category: str = "3") -> Contractor:
    return Contractor(
        number="C-10234",
        name=LocalizedText(ar="مؤسسة النور للمقاولات", en="Al-Noor Contracting Est."),
        classification=classification,
        category=category,
        phone="+962791234567",
    )


def permit(valid_to: date = date(2026, 12, 31), **changes: object) -> Permit:
    fields: dict[str, object] = {
        "contractor_number": "C-10234",
        "number": "P-2026-0112",
        "year": 2026,
        "valid_from": date(2026, 1, 1),
        "valid_to": valid_to,
        **changes,
    }
    return Permit.model_validate(fields)


def submitted(classification: str = "buildings", lang: str = "ar") -> domain.RenewalRequest:
    return domain.submit(
        request_number="CP-2026-000123",
        owner=CITIZEN,
        contractor=contractor(classification),
        permit=permit(),
        reason="انتهاء مدة التصريح",
        phone="+962791234567",
        lang="en" if lang == "en" else "ar",
        now=NOW,
    ).request


DUE = datetime(2026, 11, 30, 20, 59, 59, tzinfo=UTC)


def approved(classification: str = "buildings") -> domain.Change:
    return domain.approve(
        submitted(classification),
        REVIEWER,
        NOW,
        fees=FEES,
        permit=permit(),
        payment_due_at=DUE,
        note=None,
    )


def paid_with(e_payment_number: str = "2026000123457") -> domain.PaymentMade:
    return domain.PaymentMade(e_payment_number, 100_000, NOW)
