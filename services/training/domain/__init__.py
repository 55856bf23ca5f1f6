"""Training and mission-facilitation requests (seed 003): states, the workflow table, every rule.

Pure: no I/O. The workflow is data (`workflow.py`: `WORKFLOW`, action, from, to, roles, bilingual
label, what starts it; `STATES`: labels, next step, SLA), and each transition (`moves.py`) is a
function taking the current request and returning a `Change` (`request.py`): the new request with
its timeline line and the events to publish, which the store writes in one single-document update
guarded by the version. The catalogue of departments and GIS courses (with hours and fees) is
data too: `settings.load_catalogue` reads `catalogue.json`, and the form's rules
(`application.py`) check against what it is given.

- `workflow.py`: the roles, the seed's periods and percentages, `Status`, `Action`, `WORKFLOW`,
  `STATES`;
- `application.py`: the catalogue's shape, the form (`ApplicationForm`) and its rules
  (`check_application`);
- `request.py`: the aggregate `TrainingRequest`, its `Attachment`, a `Change`, the references;
- `moves.py`: every transition;
- `dates.py`: Amman days and instants.
"""

from services.training.domain.application import (
    ApplicantType,
    Application,
    ApplicationForm,
    AttachmentKind,
    Catalogue,
    CertificateType,
    Department,
    InstitutionType,
    InvalidApplication,
    Kind,
    check_application,
)
from services.training.domain.dates import AMMAN, add_months, day_start, local_date, period_end
from services.training.domain.moves import (
    approve,
    complete,
    correct_attachments,
    expire_correction,
    expire_payment,
    expire_postponement,
    flag_attachments,
    on_deadline,
    pay,
    postpone,
    record_attendance,
    record_bill,
    record_no_show,
    refund_decided,
    reject,
    submit,
)
from services.training.domain.request import (
    Attachment,
    Change,
    TrainingRequest,
    payment_reference,
    refund_reference,
)
from services.training.domain.workflow import (
    BY_PAYMENTS,
    CITIZEN,
    LETTER_STATES,
    MAX_DAYS_AHEAD,
    MAX_PERIOD_DAYS,
    NO_SHOW_WITHHELD_PERCENT,
    PAYMENTS,
    REQUEST_PREFIX,
    REVIEW_SLA_WORKING_DAYS,
    REVIEW_TARGET_WORKING_DAYS,
    REVIEWER,
    SERVICE,
    STAFF_ROLES,
    STATES,
    SUPERVISOR,
    SWEEPER,
    SYSTEM,
    WORKFLOW,
    Action,
    Status,
    roles_for,
    state_diagram,
    states_table,
    steps,
    transitions_table,
)

__all__ = [
    "AMMAN",
    "BY_PAYMENTS",
    "CITIZEN",
    "LETTER_STATES",
    "MAX_DAYS_AHEAD",
    "MAX_PERIOD_DAYS",
    "NO_SHOW_WITHHELD_PERCENT",
    "PAYMENTS",
    "REQUEST_PREFIX",
    "REVIEWER",
    "REVIEW_SLA_WORKING_DAYS",
    "REVIEW_TARGET_WORKING_DAYS",
    "SERVICE",
    "STAFF_ROLES",
    "STATES",
    "SUPERVISOR",
    "SWEEPER",
    "SYSTEM",
    "WORKFLOW",
    "Action",
    "ApplicantType",
    "Application",
    "ApplicationForm",
    "Attachment",
    "AttachmentKind",
    "Catalogue",
    "CertificateType",
    "Change",
    "Department",
    "InstitutionType",
    "InvalidApplication",
    "Kind",
    "Status",
    "TrainingRequest",
    "add_months",
    "approve",
    "check_application",
    "complete",
    "correct_attachments",
    "day_start",
    "expire_correction",
    "expire_payment",
    "expire_postponement",
    "flag_attachments",
    "local_date",
    "on_deadline",
    "pay",
    "payment_reference",
    "period_end",
    "postpone",
    "record_attendance",
    "record_bill",
    "record_no_show",
    "refund_decided",
    "refund_reference",
    "reject",
    "roles_for",
    "state_diagram",
    "states_table",
    "steps",
    "submit",
    "transitions_table",
]
