"""Bills and their refunds: the workflows (`workflow.py`), the aggregate and its rules
(`bill.py`), what the provider and the people see of it (`provider.py`), and the receipt of a
paid bill, a document (`receipt.py`). Pure: no I/O.

Everything the rest of the service uses is re-exported here.
"""

from services.common.errors import DomainError as DomainError
from services.common.errors import NotAllowedNow as NotAllowedNow
from services.common.errors import NotPermitted as NotPermitted
from services.common.errors import RuleBroken as RuleBroken
from services.common.errors import Unknown as Unknown
from services.common.workflow import Raised as Raised
from services.common.workflow import roles_for as roles_for
from services.common.workflow import state_diagram as state_diagram
from services.payments.domain.bill import Bill as Bill
from services.payments.domain.bill import Change as Change
from services.payments.domain.bill import Issue as Issue
from services.payments.domain.bill import Payment as Payment
from services.payments.domain.bill import PaymentNotice as PaymentNotice
from services.payments.domain.bill import PaymentRefused as PaymentRefused
from services.payments.domain.bill import Record as Record
from services.payments.domain.bill import Refund as Refund
from services.payments.domain.bill import cancel as cancel
from services.payments.domain.bill import decide_refund as decide_refund
from services.payments.domain.bill import expire as expire
from services.payments.domain.bill import issue_bill as issue_bill
from services.payments.domain.bill import pay as pay
from services.payments.domain.bill import provider as provider
from services.payments.domain.bill import provider_service_type as provider_service_type
from services.payments.domain.bill import request_refund as request_refund
from services.payments.domain.bill import requesting_service as requesting_service
from services.payments.domain.provider import Notification as Notification
from services.payments.domain.provider import accepted_notification as accepted_notification
from services.payments.domain.provider import fingerprint as fingerprint
from services.payments.domain.provider import mask_name as mask_name
from services.payments.domain.provider import presentable as presentable
from services.payments.domain.provider import refused_notification as refused_notification
from services.payments.domain.provider import status_for_provider as status_for_provider
from services.payments.domain.receipt import RECEIPT as RECEIPT
from services.payments.domain.receipt import paid_receipt as paid_receipt
from services.payments.domain.receipt import receipt_rows as receipt_rows
from services.payments.domain.workflow import BILL_WORKFLOW as BILL_WORKFLOW
from services.payments.domain.workflow import EXPIRY_RESOLUTION as EXPIRY_RESOLUTION
from services.payments.domain.workflow import FINANCE_APPROVER as FINANCE_APPROVER
from services.payments.domain.workflow import FINANCE_READERS as FINANCE_READERS
from services.payments.domain.workflow import FINANCE_STAFF as FINANCE_STAFF
from services.payments.domain.workflow import PAYMENT_PROVIDER as PAYMENT_PROVIDER
from services.payments.domain.workflow import REFUND_WORKFLOW as REFUND_WORKFLOW
from services.payments.domain.workflow import SYSTEM as SYSTEM
from services.payments.domain.workflow import BillAction as BillAction
from services.payments.domain.workflow import BillStatus as BillStatus
from services.payments.domain.workflow import ExceptionKind as ExceptionKind
from services.payments.domain.workflow import RefundAction as RefundAction
from services.payments.domain.workflow import RefundStatus as RefundStatus
from services.payments.domain.workflow import Step as Step
from services.payments.domain.workflow import step as step
