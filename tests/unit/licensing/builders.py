"""Plain objects for the licensing domain tests: a request at any step, and the calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import Applicant, LocalizedText
from services.common.calendar import WorkingCalendar
from services.licensing import domain
from services.licensing.domain import Actor, Change, Document, LicenceRequest

CALENDAR = WorkingCalendar()
# Monday 23 November 2026, 09:00 in Amman: a working day.
MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
OWNER = Actor("citizen-1", frozenset({domain.CITIZEN}))
CLERK = Actor("clerk-1", frozenset({domain.CLERK}))
INSPECTOR = Actor("inspector-1", frozenset({domain.INSPECTOR}))
COMMITTEE = Actor("committee-1", frozenset({domain.COMMITTEE}))
AUTHORITY = Actor("authority:civil_defence", frozenset({domain.EXTERNAL_AUTHORITY}))


def fields(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "applicant": Applicant(
            name="محمود خليل", phone="+962791234567", lang="ar", national_id="9861012345"
        ),
        "applicant_kind": "individual",
        "id_type": "national",
        "camp_code": "wehdat",
        "camp": LocalizedText(ar="مخيم الوحدات", en="Al-Wehdat (Amman New Camp)"),
        "profession_code": "grocery",
        "profession": LocalizedText(ar="بقالة", en="Grocery"),
        "area_m2": 35.5,
        "fee_fils": 33_000,
        "trade_name": "بقالة الأمل",
        "address": "شارع السوق",
        "tenure": "rented",
    }
    values.update(changes)
    return values


def document(kind: str, at: datetime = MONDAY) -> Document:
    return Document(
        kind=kind,
        file_id=f"file-{kind}-{at.timestamp():.0f}",
        content_type="application/pdf",
        size=100,
        filename=f"{kind}.pdf",
        uploaded_at=at,
    )


def draft(**changes: Any) -> LicenceRequest:
    return domain.create("LC-2026-000001", OWNER, MONDAY, fields(**changes)).request


def attached(request: LicenceRequest, at: datetime = MONDAY) -> LicenceRequest:
    for kind in domain.required_documents(request.tenure):
        request = domain.attach_document(request, document(kind, at), at, OWNER, CALENDAR)[
            0
        ].request
    return request


def submitted(at: datetime = MONDAY, **changes: Any) -> LicenceRequest:
    return domain.submit(attached(draft(**changes), at), at, OWNER, CALENDAR).request


def inspection_pending(at: datetime = MONDAY) -> LicenceRequest:
    return domain.check_documents(submitted(at), [], at, CLERK, CALENDAR).request


def slot(after: datetime, working_days: int = 1, hour_utc: int = 7) -> datetime:
    day = CALENDAR.add_working_days(CALENDAR.local_date(after), working_days)
    return datetime(day.year, day.month, day.day, hour_utc, tzinfo=UTC)


def committee_review(at: datetime = MONDAY) -> LicenceRequest:
    request = inspection_pending(at)
    visit = slot(at)
    request = domain.schedule_inspection(request, visit, at, INSPECTOR, CALENDAR).request
    return domain.record_inspection(request, True, None, visit, INSPECTOR, CALENDAR).request


def payment_due(now: datetime) -> datetime:
    return CALENDAR.deadline_after(now, 10) - timedelta(seconds=1)


def approved(at: datetime = MONDAY) -> LicenceRequest:
    request = committee_review(at)
    decided_at = slot(at) + timedelta(hours=2)
    change = domain.decide(
        request, "approved", None, [], payment_due(decided_at), decided_at, COMMITTEE, CALENDAR
    )
    return change.request


def keys(change: Change) -> list[str]:
    return [event.routing_key for event in change.events]
