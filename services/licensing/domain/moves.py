"""The request's moves up to the committee: created as a draft, its documents attached, submitted
(step 1), the documents checked (step 2, repeatable), the inspection scheduled and recorded
(steps 3-4, repeatable after a rectification), and the applicant's withdrawal.

Each move takes the current request and returns a `Change` (the new request, its timeline line
and the events it raises) or raises a `DomainError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

from contracts import PaymentCancelled
from contracts.licensing import (
    DocumentIssue,
    DocumentsRejected,
    InspectionScheduled,
    LicensingRequestSubmitted,
    LicensingRequestWithdrawn,
    RectificationRequired,
)
from services.common.calendar import WorkingCalendar
from services.common.errors import NotAllowedNow, RuleBroken
from services.common.workflow import Actor, Raised, TimelineEntry, find_step, moved
from services.licensing.domain.request import (
    DOCUMENT_NAMES,
    Change,
    Document,
    LicenceRequest,
    required_documents,
)
from services.licensing.domain.sla import sla_after
from services.licensing.domain.workflow import REQUEST_WORKFLOW, RequestAction, RequestStatus

S = RequestStatus
A = RequestAction

# The furthest ahead an inspection is scheduled.
INSPECTION_HORIZON = timedelta(days=60)


def advance(
    request: LicenceRequest,
    action: RequestAction,
    actor: Actor,
    now: datetime,
    calendar: WorkingCalendar,
    *events: Raised,
    why: str | None = None,
    branch: str | None = None,
    **changes: object,
) -> Change:
    """`request` moved along the workflow (the shared `moved`: state, timeline line, role check),
    with the SLA fields the move implies."""
    after = moved(request, REQUEST_WORKFLOW, action, actor, now, branch=branch, why=why, **changes)
    sla, breached = sla_after(request, after, now, calendar)
    return Change(after.model_copy(update=sla), events, breached)


def create(number: str, owner: Actor, now: datetime, fields: Mapping[str, object]) -> Change:
    """A new draft (no SMS: the number is sent when the request is submitted); `fields` are the
    checked application (`application.new_request_fields`)."""
    step = find_step(REQUEST_WORKFLOW, A.CREATE, None)
    entry = TimelineEntry(
        at=now,
        action=A.CREATE,
        source=None,
        target=step.target,
        by=owner.subject,
        role=owner.role_for(step),
    )
    request = LicenceRequest.model_validate(
        {
            **fields,
            "number": number,
            "owner_subject": owner.subject,
            "created_at": now,
            "status": step.target,
            "history": (entry,),
        }
    )
    return Change(request)


def attach_document(
    request: LicenceRequest,
    document: Document,
    now: datetime,
    actor: Actor,
    calendar: WorkingCalendar,
) -> tuple[Change, Document | None]:
    """Attach (or replace) one document; returns the change and the document it replaces."""
    if document.kind not in required_documents(request.tenure):
        raise RuleBroken(
            f"This request does not take a '{document.kind}': it needs "
            f"{', '.join(required_documents(request.tenure))}.",
            f"هذا الطلب لا يتطلب '{DOCUMENT_NAMES[document.kind].ar}'.",
            field="kind",
        )
    replaced = request.document(document.kind)
    documents = (*(d for d in request.documents if d.kind != document.kind), document)
    to_replace = tuple(k for k in request.documents_to_replace if k != document.kind)
    change = advance(
        request, A.ATTACH_DOCUMENT, actor, now, calendar,
        why=document.kind, documents=documents, documents_to_replace=to_replace,
    )  # fmt: skip
    return change, replaced


def submit(
    request: LicenceRequest, now: datetime, actor: Actor, calendar: WorkingCalendar
) -> Change:
    """Step 1 (a draft) or a resubmission after the documents were replaced (step 2 again)."""
    names = DOCUMENT_NAMES
    missing = [k for k in required_documents(request.tenure) if request.document(k) is None]
    if missing:
        raise RuleBroken(
            "Attach the required documents first: " + ", ".join(names[k].en for k in missing) + ".",
            "يرجى إرفاق الوثائق المطلوبة أولاً: " + "، ".join(names[k].ar for k in missing) + ".",
            field="documents",
        )
    if request.status is S.AWAITING_DOCUMENTS:
        if kinds := request.documents_to_replace:
            raise RuleBroken(
                "Replace these documents first: " + ", ".join(names[k].en for k in kinds) + ".",
                "يرجى استبدال هذه الوثائق أولاً: " + "، ".join(names[k].ar for k in kinds) + ".",
                field="documents",
            )
        return advance(request, A.RESUBMIT, actor, now, calendar)
    change = advance(request, A.SUBMIT, actor, now, calendar, submitted_at=now)
    submitted = change.request
    assert submitted.sla_due_at is not None
    event = LicensingRequestSubmitted.model_validate(
        {
            **submitted._base(),
            "submitted_at": now,
            "fee_fils": submitted.fee_fils,
            "target_at": submitted.sla_due_at,
        }
    )
    return Change(submitted, (Raised("licensing.request.submitted.v1", event),), change.breached)


def check_documents(
    request: LicenceRequest,
    issues: Sequence[tuple[str, Literal["missing", "wrong"], str | None]],
    now: datetime,
    actor: Actor,
    calendar: WorkingCalendar,
    *,
    accepted: bool | None = None,
) -> Change:
    """Step 2: no issue, the documents are accepted; else the applicant is told which ones.
    `accepted`, when given, must agree with the issues (none when accepting)."""
    if accepted is not None and accepted == bool(issues):
        raise RuleBroken(
            "Name the documents to replace when not accepting, and none when accepting.",
            "يرجى ذكر الوثائق المطلوب استبدالها عند عدم القبول فقط.",
            field="issues",
        )
    if not issues:
        return advance(request, A.ACCEPT_DOCUMENTS, actor, now, calendar)
    required = required_documents(request.tenure)
    kinds = [kind for kind, _, _ in issues]
    for kind in kinds:
        if kind not in required:
            raise RuleBroken(
                f"'{kind}' is not a document of this request ({', '.join(required)}).",
                f"'{kind}' ليست من وثائق هذا الطلب.",
                field="issues",
            )
    if len(set(kinds)) != len(kinds):
        raise RuleBroken("Name each document once.", "يرجى ذكر كل وثيقة مرة واحدة.", field="issues")
    count = request.document_checks + 1
    event = DocumentsRejected.model_validate(
        {
            **request._base(),
            "documents": [
                DocumentIssue(document=kind, name=DOCUMENT_NAMES[kind], issue=issue, note=note)
                for kind, issue, note in issues
            ],
            "check_count": count,
        }
    )
    return advance(
        request, A.REJECT_DOCUMENTS, actor, now, calendar,
        Raised("licensing.request.documents_rejected.v1", event),
        why="; ".join(f"{kind}: {issue}" for kind, issue, _ in issues),
        documents_to_replace=tuple(kinds), document_checks=count,
    )  # fmt: skip


def schedule_inspection(
    request: LicenceRequest,
    inspection_at: datetime,
    now: datetime,
    actor: Actor,
    calendar: WorkingCalendar,
) -> Change:
    """Step 3 (and 3 again after a rectification, or a new appointment)."""
    if inspection_at <= now:
        raise RuleBroken(
            "The appointment must be in the future.", "يجب أن يكون موعد الكشف لاحقاً.",
            field="inspection_at",
        )  # fmt: skip
    if inspection_at > now + INSPECTION_HORIZON:
        raise RuleBroken(
            "The appointment must be within 60 days.",
            "يجب أن يكون موعد الكشف خلال 60 يوماً.",
            field="inspection_at",
        )
    if (why := calendar.why_closed(calendar.local_date(inspection_at))) is not None:
        raise RuleBroken(
            f"The appointment falls on a day the municipality is closed ({why}).",
            "موعد الكشف في يوم عطلة.",
            field="inspection_at",
        )
    is_reinspection = request.status is S.RECTIFICATION or (
        request.status is S.INSPECTION_SCHEDULED and request.findings is not None
    )
    event = InspectionScheduled.model_validate(
        {**request._base(), "inspection_at": inspection_at, "is_reinspection": is_reinspection}
    )
    return advance(
        request, A.SCHEDULE_INSPECTION, actor, now, calendar,
        Raised("licensing.request.inspection_scheduled.v1", event),
        why=inspection_at.isoformat(), inspection_at=inspection_at,
    )  # fmt: skip


def record_inspection(
    request: LicenceRequest,
    compliant: bool,
    findings: str | None,
    now: datetime,
    actor: Actor,
    calendar: WorkingCalendar,
) -> Change:
    """After the visit: compliant, to the committee; not compliant, step 4 (rectify)."""
    if (
        request.status is S.INSPECTION_SCHEDULED
        and request.inspection_at is not None
        and now < request.inspection_at - timedelta(hours=1)
    ):
        raise NotAllowedNow(
            "The inspection's result can be recorded only from its appointment on.",
            "لا يمكن تسجيل نتيجة الكشف قبل موعده.",
        )
    inspections = request.inspections + 1
    if compliant:
        return advance(
            request, A.RECORD_COMPLIANT, actor, now, calendar, why=findings,
            inspections=inspections,
        )  # fmt: skip
    if not findings:
        raise RuleBroken(
            "Name the findings to rectify.", "يرجى ذكر الملاحظات المطلوب تصويبها.", field="findings"
        )
    event = RectificationRequired.model_validate(
        {**request._base(), "findings": findings, "inspected_at": now}
    )
    return advance(
        request, A.RECORD_NON_COMPLIANT, actor, now, calendar,
        Raised("licensing.request.rectification_required.v1", event),
        why=findings, findings=findings, inspections=inspections,
    )  # fmt: skip


def withdraw(
    request: LicenceRequest, now: datetime, actor: Actor, calendar: WorkingCalendar
) -> Change:
    """The applicant withdraws an open request; an unpaid bill is withdrawn with it."""
    events: list[Raised] = []
    if request.status is not S.DRAFT:
        event = LicensingRequestWithdrawn.model_validate({**request._base(), "at": now})
        events.append(Raised("licensing.request.withdrawn.v1", event))
    if request.status is S.AWAITING_PAYMENT and request.payment_reference:
        cancelled = PaymentCancelled(
            payment_reference=request.payment_reference,
            request_number=request.number,
            reason="the applicant withdrew the licence request",
        )
        events.append(Raised("licensing.payment.cancelled.v1", cancelled))
    return advance(request, A.WITHDRAW, actor, now, calendar, *events)
