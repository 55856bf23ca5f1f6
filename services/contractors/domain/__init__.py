"""Renewal of a contractor's permit (seed 001). Pure: no I/O.

What the seed says, and what it leaves to us:

1. lookup: contractor number, permit number and permit year must match the registry; the answer
   is the contractor's name (only the name);
2. the applicant gives the renewal reason, a phone and the one-time code sent to that phone
   (`otp.py`), and submits -> SMS with the request number;
3. (the card stops there) a reviewer approves, or rejects with a bilingual reason (SMS);
4. approved: the fee of the contractor's classification/category (data, may be zero). Non-zero ->
   payments bills it (its SMS carries the e-payment number); zero -> completes at once;
5. paid (or free) -> completed: the permit's new validity (`new_validity`) is written to the
   registry, SMS with it; the bill expired or was cancelled unpaid -> the renewal is cancelled, SMS.

The package: `workflow.py` (the tables: states, actions, roles, labels, next steps),
`application.py` (the applicant's input), `permits.py` (the registry's records, the validity rule,
the fee schedule), `request.py` (the request and every transition: the new request with its
events and documents, a `Change`; None when there is nothing to do), `documents.py` (the renewed
permit: its kind and what a completion issues). The inquiry's view is `../views.py`.
"""

from services.common.errors import DomainError as DomainError
from services.common.errors import FieldError as FieldError
from services.common.errors import Gone as Gone
from services.common.errors import NotAllowedNow as NotAllowedNow
from services.common.errors import NotPermitted as NotPermitted
from services.common.errors import RuleBroken as RuleBroken
from services.common.errors import Throttled as Throttled
from services.common.errors import Unknown as Unknown
from services.common.workflow import Actor as Actor
from services.common.workflow import Fee as Fee
from services.common.workflow import Raised as Raised
from services.common.workflow import Step as Step
from services.common.workflow import TimelineEntry as TimelineEntry
from services.common.workflow import system as system
from services.contractors.domain.application import (
    MAX_YEAR,
    MIN_YEAR,
    PermitKey,
    check_key,
    check_phone,
    check_reason,
    no_match,
    normalise_number,
    normalise_phone,
    permit_id,
    raise_if,
)
from services.contractors.domain.documents import (
    RENEWED_PERMIT,
    on_registry_change,
    permit_document_number,
    renewed_permit,
)
from services.contractors.domain.permits import (
    AMMAN,
    Contractor,
    FeeRule,
    FeeSchedule,
    Permit,
    PermitStatus,
    Record,
    add_years,
    amman_date,
    check_renewable,
    new_validity,
    payment_due,
    permit_ref,
)
from services.contractors.domain.request import (
    Change,
    PaymentMade,
    RenewalRequest,
    approve,
    cancel_unpaid,
    fee_description,
    payment_reference,
    record_bill,
    record_payment,
    reject,
    request_number_of,
    submit,
)
from services.contractors.domain.workflow import (
    CITIZEN,
    FEE_PURPOSE,
    LATE_PAYMENT_REFUND_PURPOSE,
    REGISTRAR,
    REQUEST_PREFIX,
    REVIEWER,
    SERVICE,
    SERVICE_TYPE,
    STATES,
    SYSTEM,
    WORKFLOW,
    Action,
    Branch,
    CancelCause,
    State,
    Status,
    roles_for,
    state_diagram,
    states_table,
    steps,
    transitions_table,
)

__all__ = [
    "AMMAN",
    "CITIZEN",
    "FEE_PURPOSE",
    "LATE_PAYMENT_REFUND_PURPOSE",
    "MAX_YEAR",
    "MIN_YEAR",
    "REGISTRAR",
    "RENEWED_PERMIT",
    "REQUEST_PREFIX",
    "REVIEWER",
    "SERVICE",
    "SERVICE_TYPE",
    "STATES",
    "SYSTEM",
    "WORKFLOW",
    "Action",
    "Actor",
    "Branch",
    "CancelCause",
    "Change",
    "Contractor",
    "DomainError",
    "Fee",
    "FeeRule",
    "FeeSchedule",
    "FieldError",
    "Gone",
    "NotAllowedNow",
    "NotPermitted",
    "PaymentMade",
    "Permit",
    "PermitKey",
    "PermitStatus",
    "Raised",
    "Record",
    "RenewalRequest",
    "RuleBroken",
    "State",
    "Status",
    "Step",
    "Throttled",
    "TimelineEntry",
    "Unknown",
    "add_years",
    "amman_date",
    "approve",
    "cancel_unpaid",
    "check_key",
    "check_phone",
    "check_reason",
    "check_renewable",
    "fee_description",
    "new_validity",
    "no_match",
    "normalise_number",
    "normalise_phone",
    "on_registry_change",
    "payment_due",
    "payment_reference",
    "permit_document_number",
    "permit_id",
    "permit_ref",
    "raise_if",
    "record_bill",
    "record_payment",
    "reject",
    "renewed_permit",
    "request_number_of",
    "roles_for",
    "state_diagram",
    "states_table",
    "steps",
    "submit",
    "system",
    "transitions_table",
]
