"""The committee's decision (step 5) and the other authorities' approvals it may ask for first
(steps 6-7)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from contracts.licensing import (
    CommitteeDecided,
    ExternalApprovalRefused,
    ExternalApprovalRequired,
)
from services.common.calendar import WorkingCalendar
from services.common.errors import FieldError, NotAllowedNow, RuleBroken
from services.common.workflow import Actor, Raised
from services.licensing.domain.billing import new_bill
from services.licensing.domain.moves import advance
from services.licensing.domain.reference import CIVIL_DEFENCE, Authorities, Authority
from services.licensing.domain.request import Change, ExternalApproval, LicenceRequest
from services.licensing.domain.workflow import (
    LAST_ONE,
    OTHERS_PENDING,
    RequestAction,
    RequestStatus,
)

S = RequestStatus
A = RequestAction

Decision = Literal["approved", "not_approved", "external_approvals_required"]


def authorities_named(codes: Sequence[str], known: Authorities) -> list[Authority]:
    """The authorities of `codes`; one refusal naming every unknown code."""
    unknown = [code for code in codes if known.authority(code) is None]
    if unknown:
        raise RuleBroken(
            f"Unknown authority: {', '.join(unknown)}.",
            "جهة غير معروفة.",
            [
                FieldError("authorities", f"unknown authority {code}", "جهة غير معروفة")
                for code in unknown
            ],
        )
    return [authority for code in codes if (authority := known.authority(code)) is not None]


def decide(
    request: LicenceRequest,
    decision: Decision,
    reasons: str | None,
    authorities: Sequence[Authority],
    payment_due_at: datetime,
    now: datetime,
    actor: Actor,
    calendar: WorkingCalendar,
) -> Change:
    """Step 5 (and 6): the committee approves (the bill follows, step 8), refuses with reasons,
    or asks other authorities first."""
    if decision == "external_approvals_required":
        if not authorities:
            raise RuleBroken(
                "Name the authorities whose approval is needed.",
                "يرجى تحديد الجهات المطلوب موافقتها.",
                field="authorities",
            )
        given = {a.authority_code for a in request.external_approvals if a.status == "given"}
        wanted = [a for a in authorities if a.code not in given]
        if not wanted:
            raise RuleBroken(
                "These authorities have already approved.",
                "صدرت موافقة هذه الجهات سابقاً.",
                field="authorities",
            )
        approvals = (
            *(a for a in request.external_approvals if a.status == "given"),
            *(ExternalApproval(authority_code=a.code, authority=a.name) for a in wanted),
        )
        event = ExternalApprovalRequired.model_validate(
            {
                **request._base(),
                "authority_codes": [a.code for a in wanted],
                "authorities": [a.name for a in wanted],
            }
        )
        return advance(
            request, A.REQUIRE_EXTERNAL_APPROVALS, actor, now, calendar,
            Raised("licensing.request.external_approval_required.v1", event),
            why=", ".join(a.code for a in wanted), external_approvals=approvals,
        )  # fmt: skip
    if authorities:
        raise RuleBroken(
            "Authorities are named only when external approvals are required.",
            "تُحدَّد الجهات فقط عند طلب موافقات خارجية.",
            field="authorities",
        )
    if decision == "not_approved":
        if not reasons:
            raise RuleBroken(
                "Give the reasons for not approving.",
                "يرجى ذكر أسباب عدم الموافقة.",
                field="reasons",
            )
        refused = CommitteeDecided.model_validate(
            {**request._base(), "decision": "not_approved", "reasons": reasons, "fee_fils": 0}
        )
        return advance(
            request, A.REFUSE, actor, now, calendar,
            Raised("licensing.request.committee_decided.v1", refused),
            why=reasons, decision_reasons=reasons,
        )  # fmt: skip
    approved = CommitteeDecided.model_validate(
        {
            **request._base(),
            "decision": "approved",
            "reasons": reasons,
            "fee_fils": request.fee_fils,
        }
    )
    bill = new_bill(request, payment_due_at)
    return advance(
        request, A.APPROVE, actor, now, calendar,
        Raised("licensing.request.committee_decided.v1", approved), bill.event,
        why=reasons, bills=bill.bills, payment_reference=bill.payment_reference,
        e_payment_number=None,
    )  # fmt: skip


def record_external(
    request: LicenceRequest,
    authority_code: str,
    given: bool,
    reference: str | None,
    note: str | None,
    now: datetime,
    actor: Actor,
    calendar: WorkingCalendar,
) -> Change:
    """Step 6's answer: given (the last one sends the request back to the committee), or
    refused (step 7: the request ends refused)."""
    if request.status is not S.AWAITING_EXTERNAL_APPROVALS:
        raise NotAllowedNow(
            "No external approval is awaited for this request.",
            "لا توجد موافقة خارجية بانتظار الرد على هذا الطلب.",
        )
    pending = next(
        (a for a in request.external_approvals
         if a.authority_code == authority_code and a.status == "pending"),
        None,
    )  # fmt: skip
    if pending is None:
        raise NotAllowedNow(
            f"No approval of '{authority_code}' is awaited.",
            "لا توجد موافقة بانتظار الرد من هذه الجهة.",
        )
    recorded = pending.model_copy(
        update={
            "status": "given" if given else "refused",
            "reference": reference,
            "note": note,
            "recorded_by": actor.subject,
            "recorded_at": now,
        }
    )
    approvals = tuple(
        recorded if a.authority_code == authority_code else a for a in request.external_approvals
    )
    if not given:
        event = ExternalApprovalRefused.model_validate(
            {
                **request._base(),
                "authority_code": authority_code,
                "authority": pending.authority,
                "is_civil_defence": authority_code == CIVIL_DEFENCE,
                "note": note,
            }
        )
        return advance(
            request, A.RECORD_EXTERNAL_REFUSAL, actor, now, calendar,
            Raised("licensing.request.external_approval_refused.v1", event),
            why=f"{authority_code}: {note or 'refused'}", external_approvals=approvals,
        )  # fmt: skip
    still_pending = any(a.status == "pending" for a in approvals)
    return advance(
        request, A.RECORD_EXTERNAL_APPROVAL, actor, now, calendar,
        why=f"{authority_code}: {reference or 'given'}", external_approvals=approvals,
        branch=OTHERS_PENDING if still_pending else LAST_ONE,
    )  # fmt: skip
