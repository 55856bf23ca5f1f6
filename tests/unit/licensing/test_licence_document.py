"""The licence as a document (issue #17), on plain objects: step 9 returns the PDF to issue with
its change, once, naming what a holder shows and nothing personal it does not need."""

from __future__ import annotations

import json
from datetime import date, datetime

from services.common.documents.model import VERIFICATION_ID, Row, issue
from services.licensing import domain
from services.licensing.domain import LICENCE, Business, RequestStatus
from tests.unit.licensing.builders import CALENDAR, MONDAY, approved, keys, slot

REFERENCE = "licensing:LC-2026-000001:fee"


def pay(request: domain.LicenceRequest, now: datetime) -> domain.Change | None:
    return domain.pay(
        request, REFERENCE, "2026000123457", 33_000, "PL-2026-000001", "t" * 32,
        "https://x/v1/licences/" + "t" * 32, now, CALENDAR,
    )  # fmt: skip


def test_the_kind_is_read_by_the_licensing_staff_and_masks_the_holder_in_public() -> None:
    assert (LICENCE.name, LICENCE.title_en, LICENCE.title_ar) == (
        "licence",
        "Professional licence",
        "رخصة مهن",
    )
    assert set(LICENCE.staff_roles) == {domain.CLERK, domain.INSPECTOR, domain.COMMITTEE}
    assert domain.EXTERNAL_AUTHORITY not in LICENCE.staff_roles
    assert LICENCE.holder_is_person


def test_9_payment_stages_the_licence_pdf_with_the_licence_once() -> None:
    now = slot(MONDAY, 3)

    change = pay(approved(), now)

    assert change is not None and keys(change) == ["licensing.licence.issued.v1"]
    [due] = change.documents
    assert (due.action, due.kind, due.number) == ("issue", "licence", "PL-2026-000001")
    assert (due.owner, due.holder) == ("citizen-1", "محمود خليل")
    assert (due.issued_at, due.valid_until) == (now, date(2026, 12, 31))
    assert due.rows == (
        Row("Trade name", "الاسم التجاري", "بقالة الأمل"),
        Row("Profession", "المهنة", "بقالة"),
        Row("Camp", "المخيم", "مخيم الوحدات"),
        Row("Licensed area", "المساحة المرخصة", "35.5 m²"),
    )
    # The request keeps where the PDF will be and its verification page, known now.
    licence = change.request.licence
    assert licence is not None
    assert (licence.document_id, licence.verification_id) == (due.id, due.verification_id)
    assert VERIFICATION_ID.match(due.verification_id)
    # The entry's id is the step's: the same licence staged again (a redelivery that got past
    # the state's guard) names the record of the first, so the issuer does nothing.
    again = issue(
        LICENCE, "PL-2026-000001", owner="o", holder="h", rows=[], issued_at=now, once="issued"
    )
    assert again.id == due.id
    # Nothing personal the licence does not need: no phone, no identity number.
    body = json.dumps(due.to_entry(), ensure_ascii=False)
    assert "791234567" not in body and "9861012345" not in body


def test_a_business_licence_is_issued_to_the_establishment() -> None:
    request = approved().model_copy(
        update={
            "applicant_kind": "business",
            "business": Business(
                establishment_name="مؤسسة الأمل التجارية", establishment_number="200012345"
            ),
        }
    )

    change = pay(request, slot(MONDAY, 3))

    assert change is not None
    assert change.documents[0].holder == "مؤسسة الأمل التجارية"
    assert domain.licence_holder(request) == "مؤسسة الأمل التجارية"


def test_a_redelivery_or_a_late_payment_issues_no_document() -> None:
    now = slot(MONDAY, 3)
    licensed = pay(approved(), now)
    assert licensed is not None
    assert pay(licensed.request, now) is None
    withdrawn = domain.withdraw(approved(), now, domain.Actor("citizen-1", frozenset({"citizen"})),
                                CALENDAR)  # fmt: skip
    refund = pay(withdrawn.request, now)
    assert refund is not None and refund.documents == ()
    assert keys(refund) == ["licensing.refund.requested.v1"]


def test_no_step_leaves_licensed_so_nothing_revokes_a_licence() -> None:
    """If a step ever withdraws an issued licence, it must stage `revoke(LICENCE, ...)`."""
    assert not [step for step in domain.REQUEST_WORKFLOW if step.source == RequestStatus.LICENSED]
    assert RequestStatus.LICENSED in domain.FINAL
