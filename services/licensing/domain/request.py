"""The licence request: the aggregate, its records and what one change of it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from contracts import Applicant, LocalizedText
from contracts.licensing import LicensingRequestDetails
from services.common import workflow
from services.common.documents.model import Due
from services.common.workflow import Raised, TimelineEntry
from services.licensing.domain.workflow import REQUEST_WORKFLOW, RequestStatus

S = RequestStatus


# ---- the aggregate ---------------------------------------------------------------------------


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


DocumentKind = Literal["occupancy_permit", "lease_contract", "allocation_document"]
Tenure = Literal["rented", "allocated"]

DOCUMENT_NAMES: dict[str, LocalizedText] = {
    "occupancy_permit": LocalizedText(
        ar="إذن الإشغال الصادر عن دائرة الشؤون الفلسطينية",
        en="occupancy permit from the Department of Palestinian Affairs",
    ),
    "lease_contract": LocalizedText(ar="عقد الإيجار", en="lease contract"),
    "allocation_document": LocalizedText(
        ar="وثيقة تخصيص الوحدة السكنية", en="housing-unit allocation document"
    ),
}


def required_documents(tenure: Tenure) -> tuple[DocumentKind, ...]:
    """Seed 000: the occupancy permit, and a lease (rented) or the allocation document."""
    return ("occupancy_permit", "lease_contract" if tenure == "rented" else "allocation_document")


class Document(Record):
    """An attachment: the file is in the service's GridFS bucket, checked by its bytes and size."""

    kind: str
    file_id: str
    content_type: str
    size: int
    filename: str
    uploaded_at: datetime


class Business(Record):
    establishment_name: str
    establishment_number: str


class ExternalApproval(Record):
    authority_code: str
    authority: LocalizedText
    status: Literal["pending", "given", "refused"] = "pending"
    reference: str | None = None
    note: str | None = None
    recorded_by: str | None = None
    recorded_at: datetime | None = None


class Licence(Record):
    number: str
    token: str
    issued_at: datetime
    valid_until: datetime
    e_payment_number: str
    # The licence's PDF (issue #17): its document id (the PDF's address) and the id of its public
    # verification page, known when the step stages it. None: issued before licences were PDFs.
    document_id: str | None = None
    verification_id: str | None = None


class LicenceRequest(Record):
    number: str
    owner_subject: str
    applicant: Applicant
    applicant_kind: Literal["individual", "business"]
    id_type: Literal["national", "residence"]
    business: Business | None = None
    camp_code: str
    camp: LocalizedText
    profession_code: str
    profession: LocalizedText
    area_m2: float
    fee_fils: int
    trade_name: str
    address: str
    tenure: Tenure
    status: RequestStatus = S.DRAFT
    version: int = 1
    created_at: datetime
    submitted_at: datetime | None = None
    documents: tuple[Document, ...] = ()
    # Flagged by the last document check; each must be uploaded again before resubmitting.
    documents_to_replace: tuple[str, ...] = ()
    document_checks: int = 0
    inspection_at: datetime | None = None
    inspections: int = 0
    findings: str | None = None
    external_approvals: tuple[ExternalApproval, ...] = ()
    decision_reasons: str | None = None
    bills: int = 0
    payment_reference: str | None = None
    e_payment_number: str | None = None
    # The pending bill's amount and last instant, from payments.bill.issued (for the inquiry).
    bill_amount_fils: int | None = None
    bill_due_at: datetime | None = None
    is_refund_requested: bool = False
    licence: Licence | None = None
    # The SLA: the target instant (moved on by paused working days), when the clock was paused,
    # the sweeper's next look, and when the target was missed.
    sla_due_at: datetime | None = None
    sla_paused_at: datetime | None = None
    sla_check_at: datetime | None = None
    sla_breached_at: datetime | None = None
    sla_stopped_at: datetime | None = None
    history: tuple[TimelineEntry, ...] = ()

    @field_validator("history", mode="before")
    @classmethod
    def _timeline(cls, value: object) -> object:
        """Lines stored before the timeline carried the actor's role (`HistoryEntry`: a
        `reason`, no `role`) are read as timeline lines: the role is the step's first one."""
        if not isinstance(value, list | tuple):
            return value
        return [
            workflow.stored_line(REQUEST_WORKFLOW, line) if isinstance(line, dict) else line
            for line in value
        ]

    def document(self, kind: str) -> Document | None:
        return next((d for d in self.documents if d.kind == kind), None)

    def details(self) -> LicensingRequestDetails:
        return LicensingRequestDetails(
            trade_name=self.trade_name,
            profession_code=self.profession_code,
            profession=self.profession,
            camp_code=self.camp_code,
            camp=self.camp,
            area_m2=self.area_m2,
            establishment_name=self.business.establishment_name if self.business else None,
        )

    def _base(self) -> dict[str, object]:
        return {
            "request_number": self.number,
            "request": self.details(),
            "applicant": self.applicant,
            "owner_subject": self.owner_subject,
        }


@dataclass(frozen=True)
class Change:
    """A request's new value (its timeline with the lines it gained) and the events it raises."""

    request: LicenceRequest
    events: tuple[Raised, ...] = ()
    # The SLA target was missed by this change (the metric counts it once).
    breached: bool = False
    # The documents the change issues (or revokes), staged in the same write.
    documents: tuple[Due, ...] = ()
