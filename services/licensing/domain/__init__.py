"""A first professional licence inside a camp (seed 000): every rule, pure (no I/O).

A **request** is created as a draft, gets its attachments, and is submitted; then the clerk
checks the documents (step 2, repeatable), the inspector schedules and records the inspection
(steps 3-4, repeatable after a rectification), the committee decides (step 5), asking other
authorities first when needed (steps 6-7); an approved request is billed (step 8) and the licence
issued on payment (step 9). Each move takes the current request and returns a `Change` (the new
request with its timeline line, and the events it raises) or raises a `DomainError`; the moves
reacting to payments' events return None when there is nothing to do, so a redelivery, another
service's bill or an old bill changes nothing.

| module | holds |
|---|---|
| `workflow.py` | roles, states, actions, the table of allowed moves (README, role checks) |
| `reference.py` | the fee schedule, camps and authorities as the rules read them |
| `application.py` | the input rules of a new request and of a quote (every bad field at once) |
| `request.py` | the `LicenceRequest` aggregate and its records, `Change` |
| `sla.py` | the 3-working-day target: running, paused, stopped, missed |
| `moves.py` | draft, documents, submission, document check, inspection, withdrawal |
| `committee.py` | the committee's decision and the external approvals |
| `billing.py` | the fee's bills, payment (the licence), expiry, a late payment's refund |
| `licence.py` | the licence as a document: its kind and the PDF's rows (issued with step 9) |
"""

from services.common.errors import DomainError as DomainError
from services.common.errors import NotAllowedNow as NotAllowedNow
from services.common.errors import RuleBroken as RuleBroken
from services.common.errors import Unknown as Unknown
from services.common.workflow import Actor as Actor
from services.common.workflow import Raised as Raised
from services.common.workflow import TimelineEntry as TimelineEntry
from services.common.workflow import system as system
from services.licensing.domain.application import Application as Application
from services.licensing.domain.application import Establishment as Establishment
from services.licensing.domain.application import new_request_fields as new_request_fields
from services.licensing.domain.application import quote as quote
from services.licensing.domain.billing import end_of_year as end_of_year
from services.licensing.domain.billing import expire_bill as expire_bill
from services.licensing.domain.billing import is_payable as is_payable
from services.licensing.domain.billing import pay as pay
from services.licensing.domain.billing import payment_reference as payment_reference
from services.licensing.domain.billing import record_bill as record_bill
from services.licensing.domain.billing import request_new_bill as request_new_bill
from services.licensing.domain.billing import request_number_of as request_number_of
from services.licensing.domain.committee import Decision as Decision
from services.licensing.domain.committee import authorities_named as authorities_named
from services.licensing.domain.committee import decide as decide
from services.licensing.domain.committee import record_external as record_external
from services.licensing.domain.licence import LICENCE as LICENCE
from services.licensing.domain.licence import licence_document as licence_document
from services.licensing.domain.licence import licence_holder as licence_holder
from services.licensing.domain.moves import attach_document as attach_document
from services.licensing.domain.moves import check_documents as check_documents
from services.licensing.domain.moves import create as create
from services.licensing.domain.moves import record_inspection as record_inspection
from services.licensing.domain.moves import schedule_inspection as schedule_inspection
from services.licensing.domain.moves import submit as submit
from services.licensing.domain.moves import withdraw as withdraw
from services.licensing.domain.reference import CIVIL_DEFENCE as CIVIL_DEFENCE
from services.licensing.domain.reference import Authorities as Authorities
from services.licensing.domain.reference import Authority as Authority
from services.licensing.domain.reference import Camp as Camp
from services.licensing.domain.reference import Camps as Camps
from services.licensing.domain.reference import FeeSchedule as FeeSchedule
from services.licensing.domain.reference import Profession as Profession
from services.licensing.domain.reference import ReferenceData as ReferenceData
from services.licensing.domain.request import DOCUMENT_NAMES as DOCUMENT_NAMES
from services.licensing.domain.request import Business as Business
from services.licensing.domain.request import Change as Change
from services.licensing.domain.request import Document as Document
from services.licensing.domain.request import ExternalApproval as ExternalApproval
from services.licensing.domain.request import Licence as Licence
from services.licensing.domain.request import LicenceRequest as LicenceRequest
from services.licensing.domain.request import required_documents as required_documents
from services.licensing.domain.sla import check_sla as check_sla
from services.licensing.domain.sla import is_overdue as is_overdue
from services.licensing.domain.workflow import CITIZEN as CITIZEN
from services.licensing.domain.workflow import CLERK as CLERK
from services.licensing.domain.workflow import COMMITTEE as COMMITTEE
from services.licensing.domain.workflow import EXTERNAL_AUTHORITY as EXTERNAL_AUTHORITY
from services.licensing.domain.workflow import FINAL as FINAL
from services.licensing.domain.workflow import INSPECTOR as INSPECTOR
from services.licensing.domain.workflow import LICENCE_PREFIX as LICENCE_PREFIX
from services.licensing.domain.workflow import OPEN as OPEN
from services.licensing.domain.workflow import PAYMENTS as PAYMENTS
from services.licensing.domain.workflow import REQUEST_PREFIX as REQUEST_PREFIX
from services.licensing.domain.workflow import REQUEST_STATES as REQUEST_STATES
from services.licensing.domain.workflow import REQUEST_WORKFLOW as REQUEST_WORKFLOW
from services.licensing.domain.workflow import SERVICE as SERVICE
from services.licensing.domain.workflow import SLA_WORKING_DAYS as SLA_WORKING_DAYS
from services.licensing.domain.workflow import STAFF_ROLES as STAFF_ROLES
from services.licensing.domain.workflow import STATES as STATES
from services.licensing.domain.workflow import SYSTEM as SYSTEM
from services.licensing.domain.workflow import RequestAction as RequestAction
from services.licensing.domain.workflow import RequestStatus as RequestStatus
from services.licensing.domain.workflow import State as State
from services.licensing.domain.workflow import Step as Step
from services.licensing.domain.workflow import label as label
from services.licensing.domain.workflow import roles_for as roles_for
from services.licensing.domain.workflow import state_diagram as state_diagram
from services.licensing.domain.workflow import states_table as states_table
from services.licensing.domain.workflow import transitions_table as transitions_table
