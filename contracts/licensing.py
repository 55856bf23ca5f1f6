"""The licensing contract: a first professional licence inside a refugee camp (seed 000).

An individual (citizen, resident) or a business asks for the first professional licence of a shop
or workshop inside one of Amman's camps. The licensing service publishes ``licensing.request.*``
for each step of one request and ``licensing.licence.issued.v1`` when the licence is issued. Each
event carries the applicant (for the notifier's SMS), ``owner_subject`` (whose request it is) and
the request as it stood, so a subscriber acts without calling back. The fee travels on the
payments contract: ``licensing.payment.requested.v1`` with the reference
``licensing:<request number>:fee`` (``fee-2``, ``fee-3`` ... for a new bill after one expired).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.common import Applicant, ContractModel, Fils, LocalizedText, UtcDatetime
from contracts.registry import EventSpec

__all__ = [
    "SPECS",
    "CommitteeDecided",
    "DocumentIssue",
    "DocumentsRejected",
    "ExternalApprovalRefused",
    "ExternalApprovalRequired",
    "InspectionScheduled",
    "LicenceIssued",
    "LicensingRequestDetails",
    "LicensingRequestSubmitted",
    "LicensingRequestWithdrawn",
    "PaymentExpired",
    "RectificationRequired",
]

_REQUEST_NUMBER = Field(
    min_length=1, description="The human request number.", examples=["LC-2026-000123"]
)
_OWNER = Field(
    min_length=1,
    description=(
        "The identity-provider subject (JWT sub) of the citizen who owns the request, so that "
        "they can see the SMS and the request in their own lists."
    ),
    examples=["citizen-9f3a"],
)


class LicensingRequestDetails(ContractModel):
    """What is being licensed, as the request said it when the event happened."""

    trade_name: str = Field(min_length=1, description="The trade name of the shop or workshop.")
    profession_code: str = Field(min_length=1, description="The profession's code in the schedule.")
    profession: LocalizedText = Field(description="The profession, as the fee schedule names it.")
    camp_code: str = Field(min_length=1, description="The camp's code.")
    camp: LocalizedText = Field(description="The camp, e.g. Al-Wehdat (Amman New Camp).")
    area_m2: float = Field(gt=0, description="The licensed area in square metres.")
    establishment_name: str | None = Field(
        default=None, description="For a business applicant: the establishment's registered name."
    )


class _RequestEvent(ContractModel):
    request_number: str = _REQUEST_NUMBER
    request: LicensingRequestDetails = Field(description="What is being licensed.")
    applicant: Applicant = Field(description="The applicant (the person acting for a business).")
    owner_subject: str = _OWNER


class LicensingRequestSubmitted(_RequestEvent):
    """Seed 000, step 1: the request was submitted with its attachments and accepted."""

    submitted_at: UtcDatetime = Field(description="When the request was submitted.")
    fee_fils: Fils = Field(description="The fee the schedule gives for the profession and area.")
    target_at: UtcDatetime = Field(
        description="The target completion (3 working days; time waiting for the applicant or "
        "another authority is added)."
    )


class DocumentIssue(ContractModel):
    """One attachment the document check found missing or wrong."""

    document: str = Field(
        description="occupancy_permit, lease_contract or allocation_document.",
        examples=["occupancy_permit"],
    )
    name: LocalizedText = Field(description="The document's name, to tell the applicant.")
    issue: Literal["missing", "wrong"] = Field(description="Missing (incomplete) or wrong.")
    note: str | None = Field(default=None, description="What is wrong with it, in staff's words.")


class DocumentsRejected(_RequestEvent):
    """Seed 000, step 2: the document check found missing or wrong attachments; the applicant
    replaces them and resubmits (this can happen more than once)."""

    documents: list[DocumentIssue] = Field(min_length=1, description="The attachments to replace.")
    check_count: int = Field(ge=1, description="Which document check this was (1, 2, ...).")


class InspectionScheduled(_RequestEvent):
    """Seed 000, step 3: the inspection of the premises is scheduled (or a re-inspection after a
    rectification, or a new appointment)."""

    inspection_at: UtcDatetime = Field(description="The appointment: date and time.")
    is_reinspection: bool = Field(description="True after a rectification (step 4).")


class RectificationRequired(_RequestEvent):
    """Seed 000, step 4: the inspection found the premises non-compliant: the applicant must
    rectify (تصويب الأوضاع); a re-inspection follows."""

    findings: str = Field(min_length=1, description="What the inspector found, to be rectified.")
    inspected_at: UtcDatetime = Field(description="When the inspection result was recorded.")


class CommitteeDecided(_RequestEvent):
    """Seed 000, step 5: the responsible committee decided. Approved: the fee follows
    (``licensing.payment.requested.v1``, then the e-payment number SMS from payments)."""

    decision: Literal["approved", "not_approved"] = Field(description="The committee's decision.")
    reasons: str | None = Field(default=None, description="Why not approved (required then).")
    fee_fils: Fils = Field(description="The fee due when approved.")


class ExternalApprovalRequired(_RequestEvent):
    """Seed 000, step 6: the committee needs the approval of other authorities first."""

    authority_codes: list[str] = Field(min_length=1, description="e.g. civil_defence, health.")
    authorities: list[LocalizedText] = Field(min_length=1, description="Their names.")


class ExternalApprovalRefused(_RequestEvent):
    """Seed 000, step 7: an authority did not approve; the request ends refused. For Civil
    Defence the SMS says that its approval was not obtained."""

    authority_code: str = Field(min_length=1, description="Which authority refused.")
    authority: LocalizedText = Field(description="Its name.")
    is_civil_defence: bool = Field(description="True when Civil Defence refused (step 7).")
    note: str | None = Field(default=None, description="The authority's reason, if given.")


class PaymentExpired(_RequestEvent):
    """The e-payment number expired unpaid (the seed is silent): the applicant may ask for a new
    one from the inquiry screen, or withdraw."""

    e_payment_number: str = Field(min_length=1, description="The expired e-payment number.")
    at: UtcDatetime = Field(description="When the bill expired.")


class LicenceIssued(_RequestEvent):
    """Seed 000, step 9: the fee was paid and the licence issued, with its verification link."""

    licence_number: str = Field(
        min_length=1, description="The licence number.", examples=["PL-2026-000042"]
    )
    issued_at: UtcDatetime = Field(description="When the licence was issued.")
    valid_until: UtcDatetime = Field(description="The last instant of validity (31 Dec, Amman).")
    verification_url: str = Field(
        min_length=1, description="Public, unguessable link that shows the licence."
    )
    e_payment_number: str = Field(min_length=1, description="The e-payment number paid.")


class LicensingRequestWithdrawn(_RequestEvent):
    """The applicant withdrew the request (the seed is silent); an unpaid bill is withdrawn too."""

    at: UtcDatetime = Field(description="When it was withdrawn.")


SPECS: tuple[EventSpec, ...] = (
    EventSpec(
        routing_key="licensing.request.submitted.v1",
        data_model=LicensingRequestSubmitted,
        producer="licensing",
        summary="A licence request was submitted and accepted: its number (step 1).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="licensing.request.documents_rejected.v1",
        data_model=DocumentsRejected,
        producer="licensing",
        summary="The document check found missing or wrong attachments (step 2).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="licensing.request.inspection_scheduled.v1",
        data_model=InspectionScheduled,
        producer="licensing",
        summary="The inspection (or re-inspection) of the premises is scheduled (step 3).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="licensing.request.rectification_required.v1",
        data_model=RectificationRequired,
        producer="licensing",
        summary="The premises are not compliant: rectify, a re-inspection follows (step 4).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="licensing.request.committee_decided.v1",
        data_model=CommitteeDecided,
        producer="licensing",
        summary="The committee approved (fee follows) or did not approve, with reasons (step 5).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="licensing.request.external_approval_required.v1",
        data_model=ExternalApprovalRequired,
        producer="licensing",
        summary="Approvals of other authorities are needed first (step 6).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="licensing.request.external_approval_refused.v1",
        data_model=ExternalApprovalRefused,
        producer="licensing",
        summary="An authority (e.g. Civil Defence) did not approve: refused (step 7).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="licensing.request.payment_expired.v1",
        data_model=PaymentExpired,
        producer="licensing",
        summary="The bill expired unpaid; a new one can be asked for (seed silent).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="licensing.licence.issued.v1",
        data_model=LicenceIssued,
        producer="licensing",
        summary="The fee was paid and the licence issued, with its verification link (step 9).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="licensing.request.withdrawn.v1",
        data_model=LicensingRequestWithdrawn,
        producer="licensing",
        summary="The applicant withdrew the request (seed silent).",
        notifies_applicant=True,
    ),
)
"""Every event type of the licensing contract, registered by `contracts/__init__.py`."""
