"""The training workflow as data: its states, actions, roles and the table of allowed moves.

`WORKFLOW` (action, from, to, roles, bilingual label, what starts it) and `STATES` (labels, next
step, SLA) drive the transitions (`moves.py`), the API's role checks, the inquiry's labels and the
README's diagram and tables (`python -m services.training.readme`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import partial

from services.common import workflow
from services.common.workflow import State, Step

SERVICE = "training"
REQUEST_PREFIX = "TR"
SERVICE_TYPE = "training.gis_course_fee"

CITIZEN = "citizen"
REVIEWER = "training.reviewer"
SUPERVISOR = "training.supervisor"
STAFF_ROLES = (REVIEWER, SUPERVISOR)
SYSTEM = workflow.SYSTEM
PAYMENTS = "payments"
# The system's moves: the sweeper's (timeline `by`: system), and those payments' events make
# (timeline `by`: payments); both under the role `system`.
SWEEPER = workflow.system(SYSTEM)
BY_PAYMENTS = workflow.system(PAYMENTS)

# Seed 003, note 1 and 2: three days to correct the attachments, three to pay (working days).
CORRECTION_WORKING_DAYS = 3
PAYMENT_WORKING_DAYS = 3
# Seed 003, "وقت انجاز الخدمة": 2 to 5 working days. The review is due within 5 (the SLA);
# the inquiry shows 2 as the target.
REVIEW_TARGET_WORKING_DAYS = 2
REVIEW_SLA_WORKING_DAYS = 5
# Seed 003, note 3: a second no-show keeps 25 % of the fee; the rest needs senior management.
NO_SHOW_WITHHELD_PERCENT = 25
# Seed 003, step 11: postponed once, by one month at most.
POSTPONE_MONTHS = 1
# Decision: a period is at most this long.
MAX_PERIOD_DAYS = 183
MAX_DAYS_AHEAD = 366


class Status(StrEnum):
    UNDER_REVIEW = "under_review"
    AWAITING_CORRECTION = "awaiting_correction"
    AWAITING_PAYMENT = "awaiting_payment"
    APPROVED = "approved"
    POSTPONEMENT_OFFERED = "postponement_offered"
    POSTPONED = "postponed"
    ATTENDING = "attending"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Action(StrEnum):
    SUBMIT = "submit"
    FLAG_ATTACHMENTS = "flag_attachments"
    CORRECT_ATTACHMENTS = "correct_attachments"
    EXPIRE_CORRECTION = "expire_correction"
    APPROVE = "approve"
    REJECT = "reject"
    PAY = "pay"
    EXPIRE_PAYMENT = "expire_payment"
    RECORD_ATTENDANCE = "record_attendance"
    RECORD_NO_SHOW = "record_no_show"
    POSTPONE = "postpone"
    EXPIRE_POSTPONEMENT = "expire_postponement"
    COMPLETE = "complete"


# ---- the workflow, as data -------------------------------------------------------------------


S = Status
A = Action
WORKFLOW: tuple[Step, ...] = (
    Step(A.SUBMIT, None, S.UNDER_REVIEW, (CITIZEN,),
         "Request received and initially accepted", "استُلم الطلب وقُبل مبدئياً",
         "the applicant submits the request with its attachment (POST /v1/requests)"),
    Step(A.FLAG_ATTACHMENTS, S.UNDER_REVIEW, S.AWAITING_CORRECTION, (REVIEWER,),
         "Attachments to be corrected", "مطلوب تصويب المرفقات",
         "a reviewer finds the attachment wrong"),
    Step(A.CORRECT_ATTACHMENTS, S.AWAITING_CORRECTION, S.UNDER_REVIEW, (CITIZEN,),
         "Attachments corrected", "صُوّبت المرفقات",
         "the applicant uploads the corrected file in time"),
    Step(A.EXPIRE_CORRECTION, S.AWAITING_CORRECTION, S.CANCELLED, (SYSTEM,),
         "Cancelled: attachments not corrected in time", "أُلغي الطلب لعدم تصويب المرفقات",
         "the correction deadline passes (sweeper)"),
    Step(A.APPROVE, S.UNDER_REVIEW, S.APPROVED, (REVIEWER,),
         "Approved", "تمت الموافقة", "a reviewer approves a free request", branch="free"),
    Step(A.APPROVE, S.UNDER_REVIEW, S.AWAITING_PAYMENT, (REVIEWER,),
         "Approved; course fee requested", "تمت الموافقة وطُلب دفع رسوم الدورة",
         "a reviewer approves an individual's GIS training", branch="paid"),
    Step(A.REJECT, S.UNDER_REVIEW, S.REJECTED, (REVIEWER,),
         "Not approved", "لم تتم الموافقة", "a reviewer rejects, with reasons"),
    Step(A.PAY, S.AWAITING_PAYMENT, S.APPROVED, (SYSTEM,),
         "Fee paid; approved", "دُفعت الرسوم وتمت الموافقة", "payments.bill.paid.v1"),
    Step(A.EXPIRE_PAYMENT, S.AWAITING_PAYMENT, S.CANCELLED, (SYSTEM,),
         "Cancelled: fee not paid in time", "أُلغي الطلب لعدم دفع الرسوم",
         "payments.bill.expired.v1 (or .cancelled.v1)"),
    Step(A.RECORD_ATTENDANCE, S.APPROVED, S.ATTENDING, (SUPERVISOR,),
         "Attended", "باشر التدريب", "a supervisor records attendance (from the start date)"),
    Step(A.RECORD_ATTENDANCE, S.POSTPONED, S.ATTENDING, (SUPERVISOR,),
         "Attended on the new date", "باشر التدريب في الموعد الجديد",
         "a supervisor records attendance (from the new start date)"),
    Step(A.RECORD_NO_SHOW, S.APPROVED, S.POSTPONEMENT_OFFERED, (SUPERVISOR,),
         "No-show; postponement offered", "عدم الحضور؛ عُرض التأجيل",
         "a supervisor records a no-show at paid GIS training", branch="paid"),
    Step(A.RECORD_NO_SHOW, S.APPROVED, S.CANCELLED, (SUPERVISOR,),
         "Cancelled: no-show", "أُلغي الطلب لعدم الحضور",
         "a supervisor records a no-show at free training", branch="free"),
    Step(A.RECORD_NO_SHOW, S.POSTPONED, S.CANCELLED, (SUPERVISOR,),
         "Cancelled: no-show at the new date; 25 % withheld",
         "أُلغي الطلب لعدم الحضور في الموعد الجديد وخُصم 25% من الرسوم",
         "a supervisor records a no-show at the new date"),
    Step(A.POSTPONE, S.POSTPONEMENT_OFFERED, S.POSTPONED, (CITIZEN,),
         "Postponed to a new start date", "أُجّل موعد التدريب",
         "the applicant picks a new start within one month (once)"),
    Step(A.EXPIRE_POSTPONEMENT, S.POSTPONEMENT_OFFERED, S.CANCELLED, (SYSTEM,),
         "Cancelled: no new date chosen; 25 % withheld",
         "أُلغي الطلب لعدم اختيار موعد جديد وخُصم 25% من الرسوم",
         "the last day to start passes without a new date (sweeper)"),
    Step(A.COMPLETE, S.APPROVED, S.COMPLETED, (SYSTEM,),
         "Period over", "انتهت المدة", "the end of the period (sweeper)"),
    Step(A.COMPLETE, S.ATTENDING, S.COMPLETED, (SYSTEM,),
         "Period over", "انتهت المدة", "the end of the period (sweeper)"),
    Step(A.COMPLETE, S.POSTPONED, S.COMPLETED, (SYSTEM,),
         "Period over", "انتهت المدة", "the end of the new period (sweeper)"),
)  # fmt: skip

_APPLY_AGAIN_EN = "You may submit a new request at www.amman.jo."
_APPLY_AGAIN_AR = "يمكنكم تقديم طلب جديد عبر www.amman.jo."

STATES: Mapping[str, State] = {
    S.UNDER_REVIEW: State(
        "Under review", "قيد الدراسة",
        "Wait for the department's decision (target {target}, at the latest {sla}).",
        "انتظر قرار الدائرة (المستهدف {target}، وبحد أقصى {sla}).",
        sla_working_days=REVIEW_SLA_WORKING_DAYS,
    ),
    S.AWAITING_CORRECTION: State(
        "Attachments to be corrected", "بانتظار تصويب المرفقات",
        "Upload the corrected attachment from this screen before {due}: {note}",
        "ارفع المرفق المصوّب من هذه الشاشة قبل {due}: {note}",
    ),
    S.AWAITING_PAYMENT: State(
        "Awaiting payment", "بانتظار دفع الرسوم",
        "Pay the course fee of {fee} JOD with the e-payment number sent by SMS, by {due}.",
        "ادفع رسوم الدورة ({fee} دينار) برقم الدفع الإلكتروني المرسل برسالة نصية قبل {due}.",
    ),
    S.APPROVED: State(
        "Approved", "تمت الموافقة",
        "Print the approval letter from this screen; start on {start}.",
        "اطبع كتاب الموافقة من هذه الشاشة؛ تبدأ المدة في {start}.",
    ),
    S.POSTPONEMENT_OFFERED: State(
        "Postponement offered", "التأجيل متاح",
        "Choose a new start date, no later than {latest}, from this screen (once only).",
        "اختر موعد بدء جديداً لا يتجاوز {latest} من هذه الشاشة (لمرة واحدة فقط).",
    ),
    S.POSTPONED: State(
        "Postponed", "مؤجل",
        "Attend from the new start date {start}.",
        "احضر اعتباراً من موعد البدء الجديد {start}.",
    ),
    S.ATTENDING: State(
        "In progress", "قيد التنفيذ",
        "Attend until the end of the period on {end}.",
        "داوم حتى نهاية المدة في {end}.",
    ),
    S.COMPLETED: State(
        "Period over", "انتهت المدة",
        "{completed_en}", "{completed_ar}", is_final=True,
    ),
    S.REJECTED: State("Not approved", "لم تتم الموافقة", _APPLY_AGAIN_EN, _APPLY_AGAIN_AR,
                      is_final=True),
    S.CANCELLED: State("Cancelled", "ملغى", _APPLY_AGAIN_EN, _APPLY_AGAIN_AR, is_final=True),
}  # fmt: skip


# What the shared workflow machinery derives from the tables (role checks, README, labels).
steps = partial(workflow.steps, WORKFLOW)
roles_for = partial(workflow.roles_for, WORKFLOW)
state_diagram = partial(workflow.state_diagram, WORKFLOW, workflow.final_states(STATES))
transitions_table = partial(workflow.transitions_table, WORKFLOW)
states_table = partial(workflow.states_table, STATES)

# States that give the approval letter; the completion letter is given once training completed.
LETTER_STATES = (S.APPROVED, S.POSTPONEMENT_OFFERED, S.POSTPONED, S.ATTENDING, S.COMPLETED)
