"""The rules of seed 000, one by one, on plain objects: no database, no broker, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.licensing import (
    DocumentsRejected,
    ExternalApprovalRefused,
    InspectionScheduled,
    LicenceIssued,
)
from services.common.errors import NotPermitted
from services.licensing import domain
from services.licensing.domain import Authority, NotAllowedNow, RequestStatus, RuleBroken
from services.licensing.settings import load_reference
from tests.unit.licensing.builders import (
    AUTHORITY,
    CALENDAR,
    CLERK,
    COMMITTEE,
    INSPECTOR,
    MONDAY,
    OWNER,
    approved,
    attached,
    committee_review,
    document,
    draft,
    inspection_pending,
    keys,
    payment_due,
    slot,
    submitted,
)

AUTHORITIES = load_reference().authorities
CIVIL_DEFENCE = AUTHORITIES.authority("civil_defence")
HEALTH = AUTHORITIES.authority("health")
assert CIVIL_DEFENCE is not None and HEALTH is not None
# Thursday 26 November 2026 ends at midnight Amman (UTC+3): the target of a Monday submission.
THURSDAY_END = datetime(2026, 11, 26, 21, 0, tzinfo=UTC)


def test_a_draft_sends_nothing_and_needs_both_documents_to_be_submitted() -> None:
    request = draft()

    with pytest.raises(RuleBroken) as refused:
        domain.submit(request, MONDAY, OWNER, CALENDAR)

    assert refused.value.field == "documents"
    assert "إذن الإشغال" in refused.value.detail_ar and "عقد الإيجار" in refused.value.detail_ar
    assert request.status is RequestStatus.DRAFT and request.sla_due_at is None


def test_a_rented_request_takes_a_lease_and_an_allocated_one_the_allocation_document() -> None:
    assert domain.required_documents("rented") == ("occupancy_permit", "lease_contract")
    assert domain.required_documents("allocated") == ("occupancy_permit", "allocation_document")
    with pytest.raises(RuleBroken) as refused:
        domain.attach_document(draft(), document("allocation_document"), MONDAY, OWNER, CALENDAR)
    assert refused.value.field == "kind"


def test_attaching_again_replaces_the_document() -> None:
    request = attached(draft())
    later = MONDAY + timedelta(minutes=5)

    change, replaced = domain.attach_document(
        request, document("lease_contract", later), later, OWNER, CALENDAR
    )

    assert replaced is not None and replaced.uploaded_at == MONDAY
    assert len(change.request.documents) == 2
    lease = change.request.document("lease_contract")
    assert lease is not None and lease.uploaded_at == later


def test_1_submission_sends_the_number_and_starts_the_3_working_day_clock() -> None:
    change = domain.submit(attached(draft()), MONDAY, OWNER, CALENDAR)

    assert keys(change) == ["licensing.request.submitted.v1"]
    assert change.request.status is RequestStatus.DOCUMENT_CHECK
    assert change.request.sla_due_at == THURSDAY_END == change.request.sla_check_at
    event = change.events[0].data
    assert event.model_dump()["fee_fils"] == 33_000


def test_the_target_skips_the_weekend() -> None:
    wednesday = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

    request = submitted(wednesday)

    # Thursday, (Friday, Saturday), Sunday, Monday: the end of Monday 30 November.
    assert request.sla_due_at == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)


def test_2_document_check_names_the_documents_and_pauses_the_clock() -> None:
    request = submitted()
    later = MONDAY + timedelta(hours=2)

    change = domain.check_documents(
        request, [("occupancy_permit", "wrong", "منتهي")], later, CLERK, CALENDAR
    )

    assert keys(change) == ["licensing.request.documents_rejected.v1"]
    event = change.events[0].data
    assert isinstance(event, DocumentsRejected)
    assert event.documents[0].name.ar.startswith("إذن الإشغال") and event.check_count == 1
    assert change.request.status is RequestStatus.AWAITING_DOCUMENTS
    assert change.request.documents_to_replace == ("occupancy_permit",)
    assert change.request.sla_paused_at == later and change.request.sla_check_at is None


def test_2_resubmission_needs_the_named_documents_replaced_and_the_check_repeats() -> None:
    request = domain.check_documents(
        submitted(), [("lease_contract", "missing", None)], MONDAY, CLERK, CALENDAR
    ).request
    with pytest.raises(RuleBroken) as refused:
        domain.submit(request, MONDAY, OWNER, CALENDAR)
    assert refused.value.field == "documents" and "عقد الإيجار" in refused.value.detail_ar

    request = domain.attach_document(request, document("lease_contract"), MONDAY, OWNER, CALENDAR)[
        0
    ].request
    change = domain.submit(request, MONDAY, OWNER, CALENDAR)

    assert change.events == ()  # the number was sent at the first submission
    assert change.request.status is RequestStatus.DOCUMENT_CHECK
    again = domain.check_documents(
        change.request, [("occupancy_permit", "missing", None)], MONDAY, CLERK, CALENDAR
    )
    event = again.events[0].data
    assert isinstance(event, DocumentsRejected) and event.check_count == 2


@pytest.mark.parametrize(
    "issues",
    [
        [("allocation_document", "missing", None)],  # not a document of a rented request
        [("lease_contract", "missing", None), ("lease_contract", "wrong", None)],
    ],
)
def test_2_the_check_names_each_of_the_requests_documents_once(
    issues: list[tuple[str, str, str | None]],
) -> None:
    with pytest.raises(RuleBroken) as refused:
        domain.check_documents(submitted(), issues, MONDAY, CLERK, CALENDAR)  # type: ignore[arg-type]
    assert refused.value.field == "issues"


def test_3_the_appointment_is_in_the_future_on_a_working_day() -> None:
    request = inspection_pending()
    friday = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

    for at in (MONDAY - timedelta(hours=1), friday, MONDAY + timedelta(days=90)):
        with pytest.raises(RuleBroken) as refused:
            domain.schedule_inspection(request, at, MONDAY, INSPECTOR, CALENDAR)
        assert refused.value.field == "inspection_at"

    change = domain.schedule_inspection(request, slot(MONDAY), MONDAY, INSPECTOR, CALENDAR)
    event = change.events[0].data
    assert isinstance(event, InspectionScheduled) and not event.is_reinspection
    assert change.request.inspection_at == slot(MONDAY)


def test_4_non_compliance_needs_findings_and_a_reinspection_follows() -> None:
    visit = slot(MONDAY)
    request = domain.schedule_inspection(
        inspection_pending(), visit, MONDAY, INSPECTOR, CALENDAR
    ).request
    with pytest.raises(NotAllowedNow):
        domain.record_inspection(
            request, False, "x", visit - timedelta(hours=2), INSPECTOR, CALENDAR
        )
    with pytest.raises(RuleBroken) as refused:
        domain.record_inspection(request, False, None, visit, INSPECTOR, CALENDAR)
    assert refused.value.field == "findings"

    change = domain.record_inspection(request, False, "لا طفاية حريق", visit, INSPECTOR, CALENDAR)

    assert keys(change) == ["licensing.request.rectification_required.v1"]
    assert change.request.status is RequestStatus.RECTIFICATION
    assert change.request.sla_paused_at == visit
    again = domain.schedule_inspection(change.request, slot(visit, 2), visit, INSPECTOR, CALENDAR)
    event = again.events[0].data
    assert isinstance(event, InspectionScheduled) and event.is_reinspection
    assert again.request.status is RequestStatus.INSPECTION_SCHEDULED


def test_5_approval_bills_the_fee_and_stops_the_clock() -> None:
    request = approved()

    assert request.status is RequestStatus.AWAITING_PAYMENT
    assert request.payment_reference == "licensing:LC-2026-000001:fee" and request.bills == 1
    assert request.sla_check_at is None and request.sla_stopped_at is not None
    assert request.sla_breached_at is None


def test_5_approval_publishes_the_decision_then_the_payment_request() -> None:
    request = committee_review()
    now = slot(MONDAY) + timedelta(hours=1)

    change = domain.decide(
        request, "approved", None, [], payment_due(now), now, COMMITTEE, CALENDAR
    )

    assert keys(change) == [
        "licensing.request.committee_decided.v1",
        "licensing.payment.requested.v1",
    ]
    payment = change.events[1].data.model_dump()
    assert payment["amount_fils"] == 33_000 and payment["service_type"] == "licensing.licence_fee"


def test_5_not_approved_needs_reasons() -> None:
    request = committee_review()
    with pytest.raises(RuleBroken) as refused:
        domain.decide(request, "not_approved", None, [], MONDAY, MONDAY, COMMITTEE, CALENDAR)
    assert refused.value.field == "reasons"

    change = domain.decide(
        request, "not_approved", "غير مسموح", [], MONDAY, slot(MONDAY), COMMITTEE, CALENDAR
    )

    assert keys(change) == ["licensing.request.committee_decided.v1"]
    assert change.request.status is RequestStatus.REFUSED


def required(*authorities: Authority) -> domain.LicenceRequest:
    now = slot(MONDAY) + timedelta(hours=1)
    return domain.decide(
        committee_review(), "external_approvals_required", None, list(authorities), now, now,
        COMMITTEE, CALENDAR,
    ).request  # fmt: skip


def test_6_approvals_come_back_to_the_committee_once_all_are_given() -> None:
    assert CIVIL_DEFENCE is not None and HEALTH is not None
    request = required(CIVIL_DEFENCE, HEALTH)
    assert request.status is RequestStatus.AWAITING_EXTERNAL_APPROVALS
    assert request.sla_paused_at is not None
    now = slot(MONDAY, 2)

    first = domain.record_external(
        request, "civil_defence", True, "CD-1", None, now, AUTHORITY, CALENDAR
    )
    assert first.request.status is RequestStatus.AWAITING_EXTERNAL_APPROVALS and first.events == ()
    with pytest.raises(NotAllowedNow):
        domain.record_external(
            first.request, "civil_defence", True, None, None, now, AUTHORITY, CALENDAR
        )
    second = domain.record_external(
        first.request, "health", True, None, None, now, AUTHORITY, CALENDAR
    )

    assert second.request.status is RequestStatus.COMMITTEE_REVIEW
    assert [a.status for a in second.request.external_approvals] == ["given", "given"]
    with pytest.raises(RuleBroken):  # the committee does not ask again for what was given
        domain.decide(
            second.request, "external_approvals_required", None, [CIVIL_DEFENCE], now, now,
            COMMITTEE, CALENDAR,
        )  # fmt: skip


def test_6_the_committee_names_the_authorities() -> None:
    with pytest.raises(RuleBroken) as refused:
        required()
    assert refused.value.field == "authorities"


@pytest.mark.parametrize(("code", "is_civil_defence"), [("civil_defence", True), ("health", False)])
def test_7_a_refusal_ends_the_request(code: str, is_civil_defence: bool) -> None:
    assert CIVIL_DEFENCE is not None and HEALTH is not None
    request = required(CIVIL_DEFENCE, HEALTH)

    change = domain.record_external(
        request, code, False, None, "لا", slot(MONDAY, 2), AUTHORITY, CALENDAR
    )

    assert keys(change) == ["licensing.request.external_approval_refused.v1"]
    event = change.events[0].data
    assert isinstance(event, ExternalApprovalRefused) and event.is_civil_defence is is_civil_defence
    assert change.request.status is RequestStatus.REFUSED


def pay(request: domain.LicenceRequest, reference: str, now: datetime) -> domain.Change | None:
    return domain.pay(
        request, reference, "2026000123457", 33_000, "PL-2026-000001", "t" * 32,
        "https://x/v1/licences/" + "t" * 32, now, CALENDAR,
    )  # fmt: skip


def test_9_payment_issues_the_licence_to_the_end_of_the_year_once() -> None:
    request = approved()
    now = slot(MONDAY, 3)

    change = pay(request, "licensing:LC-2026-000001:fee", now)

    assert change is not None and keys(change) == ["licensing.licence.issued.v1"]
    assert change.request.status is RequestStatus.LICENSED
    licence = change.request.licence
    assert licence is not None
    assert licence.valid_until == datetime(2026, 12, 31, 20, 59, 59, tzinfo=UTC)
    event = change.events[0].data
    assert isinstance(event, LicenceIssued) and event.verification_url.endswith("t" * 32)
    assert pay(change.request, "licensing:LC-2026-000001:fee", now) is None
    assert pay(request, "licensing:LC-2026-000001:fee-2", now) is None  # not its current bill


def test_an_expired_bill_can_be_replaced_by_a_new_one() -> None:
    request = approved()
    now = slot(MONDAY, 12)

    change = domain.expire_bill(request, "licensing:LC-2026-000001:fee", "1", now, CALENDAR)

    assert change is not None and keys(change) == ["licensing.request.payment_expired.v1"]
    expired = change.request
    assert expired.status is RequestStatus.PAYMENT_EXPIRED
    assert domain.expire_bill(expired, "licensing:LC-2026-000001:fee", "1", now, CALENDAR) is None
    renewed = domain.request_new_bill(expired, payment_due(now), now, OWNER, CALENDAR)
    assert keys(renewed) == ["licensing.payment.requested.v1"]
    assert renewed.request.payment_reference == "licensing:LC-2026-000001:fee-2"
    stale = domain.expire_bill(renewed.request, "licensing:LC-2026-000001:fee", "1", now, CALENDAR)
    assert stale is None
    with pytest.raises(NotAllowedNow):
        domain.request_new_bill(renewed.request, payment_due(now), now, OWNER, CALENDAR)


def test_withdrawing_a_billed_request_withdraws_the_bill_and_a_late_payment_is_refunded() -> None:
    request = approved()
    now = slot(MONDAY, 3)

    change = domain.withdraw(request, now, OWNER, CALENDAR)

    assert keys(change) == ["licensing.request.withdrawn.v1", "licensing.payment.cancelled.v1"]
    refund = pay(change.request, "licensing:LC-2026-000001:fee", now)
    assert refund is not None and keys(refund) == ["licensing.refund.requested.v1"]
    assert pay(refund.request, "licensing:LC-2026-000001:fee", now) is None
    with pytest.raises(NotAllowedNow):
        domain.withdraw(change.request, now, OWNER, CALENDAR)


def test_a_draft_is_withdrawn_silently() -> None:
    change = domain.withdraw(draft(), MONDAY, OWNER, CALENDAR)

    assert change.events == () and change.request.status is RequestStatus.WITHDRAWN


def test_a_licensed_request_cannot_be_withdrawn() -> None:
    change = pay(approved(), "licensing:LC-2026-000001:fee", slot(MONDAY, 3))
    assert change is not None
    with pytest.raises(NotAllowedNow):
        domain.withdraw(change.request, slot(MONDAY, 3), OWNER, CALENDAR)


# ---- the SLA -------------------------------------------------------------------------------


def test_working_days_spent_waiting_for_the_applicant_move_the_target_on() -> None:
    request = domain.check_documents(
        submitted(), [("lease_contract", "wrong", None)], MONDAY, CLERK, CALENDAR
    ).request
    wednesday = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    request = domain.attach_document(
        request, document("lease_contract", wednesday), wednesday, OWNER, CALENDAR
    )[0].request

    resumed = domain.submit(request, wednesday, OWNER, CALENDAR).request

    # Paused Monday, resumed Wednesday: Tuesday and Wednesday began while paused.
    assert resumed.sla_due_at == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    assert resumed.sla_check_at == resumed.sla_due_at and resumed.sla_paused_at is None


def test_the_sweeper_records_a_breach_once_and_the_request_is_overdue() -> None:
    request = submitted()
    late = THURSDAY_END + timedelta(minutes=1)
    assert not domain.is_overdue(request, THURSDAY_END - timedelta(seconds=1))
    assert domain.is_overdue(request, late)

    change = domain.check_sla(request, late)

    assert change is not None and change.breached and change.request.sla_breached_at == late
    assert change.request.sla_check_at is None
    assert domain.check_sla(change.request, late) is None


def test_the_sweeper_before_the_target_only_stops_looking() -> None:
    change = domain.check_sla(submitted(), MONDAY + timedelta(hours=1))

    assert change is not None and not change.breached and change.request.sla_breached_at is None


def test_a_paused_request_is_overdue_only_if_it_was_late_before_the_pause() -> None:
    on_time = domain.check_documents(
        submitted(), [("lease_contract", "wrong", None)], MONDAY, CLERK, CALENDAR
    ).request
    assert not domain.is_overdue(on_time, THURSDAY_END + timedelta(days=30))

    late = THURSDAY_END + timedelta(hours=1)
    paused_late = domain.check_documents(
        submitted(), [("lease_contract", "wrong", None)], late, CLERK, CALENDAR
    )
    assert paused_late.breached  # the stop itself found it late
    assert domain.is_overdue(paused_late.request, late + timedelta(days=1))


def test_a_decision_after_the_target_counts_the_breach() -> None:
    request = committee_review()
    late = THURSDAY_END + timedelta(hours=3)

    change = domain.decide(
        request, "approved", None, [], payment_due(late), late, COMMITTEE, CALENDAR
    )

    assert change.breached and change.request.sla_breached_at == late
    assert not domain.is_overdue(change.request, late)  # decided: no longer on the list


def test_an_action_outside_the_table_is_not_allowed_now() -> None:
    with pytest.raises(NotAllowedNow):
        domain.schedule_inspection(submitted(), slot(MONDAY), MONDAY, INSPECTOR, CALENDAR)
    with pytest.raises(NotAllowedNow):
        domain.check_documents(inspection_pending(), [], MONDAY, CLERK, CALENDAR)


# ---- the timeline, references ----------------------------------------------------------------


def test_each_timeline_line_keeps_the_actor_and_the_role_it_acted_under() -> None:
    request = approved()
    paid = pay(request, "licensing:LC-2026-000001:fee", slot(MONDAY, 3))
    assert paid is not None

    lines = [(e.action, e.by, e.role) for e in paid.request.history]

    assert lines[0] == ("create", OWNER.subject, domain.CITIZEN)
    assert ("accept_documents", CLERK.subject, domain.CLERK) in lines
    assert lines[-2] == ("approve", COMMITTEE.subject, domain.COMMITTEE)
    assert lines[-1] == ("pay", domain.PAYMENTS, domain.SYSTEM)
    with pytest.raises(NotPermitted):  # the workflow table's roles, in the domain too
        domain.check_documents(submitted(), [], MONDAY, INSPECTOR, CALENDAR)


def test_a_request_stored_with_the_old_history_lines_is_read_with_roles() -> None:
    stored = approved().model_dump()
    stored["history"] = [
        {"at": MONDAY, "action": "create", "source": None, "target": "draft", "by": "c-1",
         "reason": None},
        {"at": MONDAY, "action": "pay", "source": "awaiting_payment", "target": "licensed",
         "by": "payments", "reason": "2026000123457"},
    ]  # fmt: skip

    request = domain.LicenceRequest.model_validate(stored)

    assert [(e.role, e.why) for e in request.history] == [
        (domain.CITIZEN, None),
        (domain.SYSTEM, "2026000123457"),
    ]


def test_only_references_of_this_service_name_a_request() -> None:
    assert domain.request_number_of("licensing:LC-2026-000001:fee-2") == "LC-2026-000001"
    assert domain.request_number_of("exams:EX-2026-000001:fee") is None
    assert domain.request_number_of("licensing-ish") is None


def test_a_second_sweep_has_nothing_to_do() -> None:
    swept = domain.check_sla(submitted(), MONDAY + timedelta(hours=1))
    assert swept is not None
    assert domain.check_sla(swept.request, MONDAY + timedelta(hours=2)) is None
