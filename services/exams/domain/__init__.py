"""The rules of seed 004, pure: no I/O, no clock, no database, no HTTP.

1. confirmed -> the fee is asked of payments (whose bill SMS carries the e-payment number);
2. paid, trial exam -> come any time during working hours to the Knowledge Station;
3. paid, official exam -> the request joins the exam's session; once the session has its minimum
   of paid candidates, the Knowledge Station agrees a date with the granting body, and must set
   it within one working week; date set -> SMS with the date and the identity documents to bring;
4. exam held and results reviewed -> passed: the certificate is ready for collection.

| module | holds |
|---|---|
| `workflow.py` | the workflow tables of both aggregates: states, steps, roles, labels, SLA |
| `catalogue.py` | the catalogue model (centres, subjects and fees, exams), checked |
| `application.py` | the request form: every field checked and normalised at once |
| `request.py` | the request aggregate `ExamRequest` and each of its moves |
| `session.py` | the official session aggregate `ExamSession` and each of its moves |
| `documents.py` | the documents a request issues (the result slip, the certificate-ready notice) |

A move takes the aggregate and what happened, and returns the change (the new aggregate with the
events to publish and the documents to issue or revoke), None when there is nothing to do, or
raises a `services.common.errors` refusal. The use cases (`services/exams/service.py`) load,
let these decide, and save.
"""

from services.exams.domain.application import (
    Application,
    ApplicationForm,
    IdType,
    check_application,
    documents_for,
    normalise_digits,
    normalise_id_number,
    normalise_name,
    normalise_phone,
)
from services.exams.domain.catalogue import Catalogue, CatalogueExam, Centre, Subject
from services.exams.domain.documents import CERTIFICATE_NOTICE, KINDS, RESULT_SLIP
from services.exams.domain.request import (
    REQUEST_PREFIX,
    ExamRequest,
    PaymentMade,
    RequestChange,
    Result,
    bill_cancelled,
    expire,
    fee_description,
    join_session,
    payment_due,
    payment_reference,
    record_absence,
    record_attendance,
    record_bill,
    record_collection,
    record_payment,
    record_result,
    request_number_of,
    schedule,
    submit,
    withdraw,
)
from services.exams.domain.session import (
    SESSION_PREFIX,
    ExamSession,
    SessionChange,
    admit,
    mark_overdue,
    open_session,
    schedule_session,
)
from services.exams.domain.workflow import (
    CITIZEN,
    COORDINATOR,
    DATE_SLA_WORKING_DAYS,
    OUTCOME_LABELS,
    REQUEST_STATES,
    REQUEST_WORKFLOW,
    SERVICE,
    SESSION_STATES,
    SESSION_WORKFLOW,
    SYSTEM,
    ExamType,
    Outcome,
    RequestAction,
    RequestStatus,
    SessionAction,
    SessionStatus,
)

__all__ = [
    "CERTIFICATE_NOTICE",
    "CITIZEN",
    "COORDINATOR",
    "DATE_SLA_WORKING_DAYS",
    "KINDS",
    "OUTCOME_LABELS",
    "REQUEST_PREFIX",
    "REQUEST_STATES",
    "REQUEST_WORKFLOW",
    "RESULT_SLIP",
    "SERVICE",
    "SESSION_PREFIX",
    "SESSION_STATES",
    "SESSION_WORKFLOW",
    "SYSTEM",
    "Application",
    "ApplicationForm",
    "Catalogue",
    "CatalogueExam",
    "Centre",
    "ExamRequest",
    "ExamSession",
    "ExamType",
    "IdType",
    "Outcome",
    "PaymentMade",
    "RequestAction",
    "RequestChange",
    "RequestStatus",
    "Result",
    "SessionAction",
    "SessionChange",
    "SessionStatus",
    "Subject",
    "admit",
    "bill_cancelled",
    "check_application",
    "documents_for",
    "expire",
    "fee_description",
    "join_session",
    "mark_overdue",
    "normalise_digits",
    "normalise_id_number",
    "normalise_name",
    "normalise_phone",
    "open_session",
    "payment_due",
    "payment_reference",
    "record_absence",
    "record_attendance",
    "record_bill",
    "record_collection",
    "record_payment",
    "record_result",
    "request_number_of",
    "schedule",
    "schedule_session",
    "submit",
    "withdraw",
]
