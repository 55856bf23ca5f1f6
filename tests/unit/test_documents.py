"""The document machinery's pure parts: the contract samples, the staged entries, the states,
the masking of a holder's name and the direction of a value (services/common/documents).

Rendering, storing, verifying and crash safety run against the real pieces in
tests/integration/test_documents.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from contracts.documents import PRODUCERS, DocumentIssued, DocumentRevoked, document_specs
from services.common.documents import (
    DocumentKind,
    Due,
    Row,
    State,
    issue,
    mask_name,
    revoke,
    stage_documents,
    state_of,
)
from services.common.documents.render import direction
from services.common.documents.store import DUE_FIELD, DUE_PENDING

AT = "2026-12-05T08:00:00Z"
DOCUMENT_SAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    DocumentIssued: {
        "kind": "receipt",
        "number": "PB-2026-000012",
        "version": 2,
        "title": {"ar": "إيصال دفع", "en": "Payment receipt"},
        "verification_id": "q3Zk9fXb2LwPz0cVt1rYs8Ue",
        "verification_url": "https://eservices.amman.jo/payments/v1/verify/q3Zk9fXb2LwPz0cVt1rYs8Ue",
        "issued_at": AT,
        "state": "valid",
        "replaces_version": 1,
        "sha256": "0" * 64,
    },
    DocumentRevoked: {
        "kind": "receipt",
        "number": "PB-2026-000012",
        "version": 2,
        "verification_id": "q3Zk9fXb2LwPz0cVt1rYs8Ue",
        "issued_at": AT,
        "revoked_at": AT,
        "reason": {"ar": "صدر خطأ", "en": "Issued in error"},
    },
}
NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def test_every_producing_service_has_both_document_events() -> None:
    assert set(PRODUCERS) == {
        "licensing",
        "contractors",
        "training",
        "exams",
        "courses",
        "payments",
    }
    issued, revoked = document_specs("exams")
    assert (issued.routing_key, revoked.routing_key) == (
        "exams.document.issued.v1",
        "exams.document.revoked.v1",
    )
    assert issued.data_model is DocumentIssued and revoked.data_model is DocumentRevoked


def test_the_events_carry_no_holder() -> None:
    for model in (DocumentIssued, DocumentRevoked):
        assert not {"holder", "owner", "applicant", "name"} & set(model.model_fields)


def test_a_staged_entry_survives_the_round_trip_through_its_stored_form() -> None:
    due = issue(
        "note_certificate",
        "NT-2026-000001",
        owner="citizen-1",
        holder="محمد أحمد العلي",
        rows=[Row("Fee", "الرسم", "12.500 JOD")],
        issued_at=NOW,
        valid_until=date(2027, 12, 4),
    )
    entry = due.to_entry()
    assert set(entry) == {"id", "body"} and isinstance(entry["body"], str), "no nested arrays"
    assert Due.from_entry(entry) == due
    gone = revoke("note_certificate", "NT-2026-000001", reason_en="x", reason_ar="س", at=NOW)
    assert Due.from_entry(gone.to_entry()) == gone


def test_staging_adds_the_entries_and_the_flag_to_the_same_update() -> None:
    due = revoke("licence", "LC-1", reason_en="x", reason_ar="س", at=NOW)
    update = stage_documents({"$set": {"state": "revoked"}}, [due])
    assert update["$set"] == {"state": "revoked", DUE_PENDING: True}
    assert update["$push"][DUE_FIELD] == {"$each": [due.to_entry()]}
    assert stage_documents({"$set": {"a": 1}}, []) == {"$set": {"a": 1}}


def test_each_issue_gets_its_own_unguessable_verification_id() -> None:
    ids = {
        issue("k", "N", owner="o", holder="h", rows=[], issued_at=NOW).verification_id
        for _ in range(50)
    }
    assert len(ids) == 50 and all(len(value) == 24 for value in ids)


def test_an_issue_named_once_has_the_same_id_however_often_it_is_staged() -> None:
    def ask(once: str | None) -> Due:
        return issue("k", "N-1", owner="o", holder="h", rows=[], issued_at=NOW, once=once)

    assert ask("paid").id == ask("paid").id
    assert ask("paid").id != ask("renewed").id
    assert ask(None).id != ask(None).id
    other = issue("k", "N-2", owner="o", holder="h", rows=[], issued_at=NOW, once="paid")
    assert other.id != ask("paid").id


def test_a_naive_issue_time_is_refused() -> None:
    with pytest.raises(ValueError):
        issue("k", "N", owner="o", holder="h", rows=[], issued_at=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("stored", "valid_until", "now", "state"),
    [
        ("valid", None, NOW, State.VALID),
        ("valid", "2026-12-05", NOW, State.VALID),
        # Its last day ends at midnight Amman time (UTC+3): 21:00 UTC on that day.
        ("valid", "2026-12-05", datetime(2026, 12, 5, 20, 59, tzinfo=UTC), State.VALID),
        ("valid", "2026-12-05", datetime(2026, 12, 5, 21, 0, tzinfo=UTC), State.EXPIRED),
        ("revoked", None, NOW, State.REVOKED),
        ("replaced", "2026-01-01", NOW, State.REPLACED),
    ],
)
def test_the_state_now(stored: str, valid_until: str | None, now: datetime, state: State) -> None:
    assert state_of({"state": stored, "valid_until": valid_until}, now) is state


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("محمد أحمد العلي", "محمد أ. ع."),
        ("Sara Khalil", "Sara K."),
        ("Omar", "Omar"),
        ("", ""),
    ],
)
def test_a_persons_name_is_masked_on_the_public_page(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("محمد", "rtl"),
        ("12.500 JOD", "ltr"),
        ("NT-2026-000001", "ltr"),
        ("2 مخبز Bakery", "rtl"),
        ("Bakery مخبز", "ltr"),
        ("05/12/2026", "ltr"),
    ],
)
def test_a_value_takes_the_direction_of_its_first_strong_letter(value: str, expected: str) -> None:
    assert direction(value) == expected


def test_a_kind_names_its_staff() -> None:
    with pytest.raises(ValueError):
        DocumentKind("Licence", "Licence", "رخصة", staff_roles=("licensing.clerk",))
    with pytest.raises(ValueError):
        DocumentKind("licence", "Licence", "رخصة", staff_roles=())


def test_expiry_is_by_the_amman_date() -> None:
    day = date(2026, 12, 5)
    late = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=22)
    assert state_of({"state": "valid", "valid_until": day.isoformat()}, late) is State.EXPIRED
