"""A bill to and from its stored document (no database: the mapping only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts import Applicant, LocalizedText
from services.common.workflow import TimelineEntry
from services.payments.domain import Bill, BillStatus
from services.payments.store import EXPIRES_AT, to_bill, to_document

NOW = datetime(2026, 11, 28, 7, 30, tzinfo=UTC)


def bill(**changes: object) -> Bill:
    data: dict[str, object] = {
        "e_payment_number": "5724000000006",
        "payment_reference": "training:TR-2026-000045:fee",
        "request_number": "TR-2026-000045",
        "requesting_service": "training",
        "service_type": "training.gis_course",
        "provider_service_type": "TRAINING",
        "biller_code": "106",
        "amount_fils": 100000,
        "description": LocalizedText(ar="دورة", en="Course"),
        "payer": Applicant(name="ليلى أحمد", phone="+962791234567"),
        "status": BillStatus.NEW,
        "issued_at": NOW,
        "due_at": NOW + timedelta(days=3),
        "history": (
            TimelineEntry(
                at=NOW, action="issue", source=None, target="new", by="training", role="system"
            ),
        ),
    }
    data.update(changes)
    return Bill.model_validate(data)


def test_a_bill_round_trips_with_its_deadline_beside_it() -> None:
    document = to_document(bill())
    assert document["_id"] == "5724000000006" and EXPIRES_AT in document
    assert to_bill(document) == bill()


def test_timeline_lines_stored_before_the_role_was_recorded_get_the_role_of_their_action() -> None:
    document = to_document(bill())
    lines = [
        {"at": NOW, "action": "issue", "source": None, "target": "new", "by": "training"},
        {"at": NOW, "action": "pay", "source": "new", "target": "paid", "by": "efawateercom"},
        {"at": NOW, "action": "refund.request", "source": None, "target": "refund x", "by": "t"},
        {"at": NOW, "action": "refund.reject", "source": "a", "target": "b", "by": "fa-1"},
    ]
    read = to_bill({**document, "history": lines})
    assert [line.role for line in read.history] == [
        "system",
        "payment.provider",
        "system",
        "finance.approver",
    ]
