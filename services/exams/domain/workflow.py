"""The exams workflows, written once as data: who may take which step from which state, the
labels and next steps of every state, and the SLA of waiting for a date.

The same tables drive the transitions (`request.py`, `session.py`, through
`services.common.workflow.moved`), the API's role checks (`roles_for`), the inquiry's labels
(`services/exams/views.py`) and the README's diagrams (`services/exams/readme.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from contracts import LocalizedText
from services.common.workflow import State, Step

# The service, as the `source` of its events and as the actor of its own moves (`system(SERVICE)`).
SERVICE = "exams"

# The roles of the workflow tables. `system` is the service itself, acting on another service's
# event (a bill paid or expired) or on a deadline.
CITIZEN = "citizen"
COORDINATOR = "exams.coordinator"
SYSTEM = "system"
# Payments' events move a request as the system, on payments' behalf.
PAYMENTS = "payments"

# Seed 004: "the exam date is confirmed ... within at most one working week".
DATE_SLA_WORKING_DAYS = 5


class ExamType(StrEnum):
    """The branch of a request's workflow: an official exam (a session, a date) or a trial."""

    OFFICIAL = "official"
    TRIAL = "trial"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


# A result as the inquiry and the result slip say it.
OUTCOME_LABELS: Mapping[Outcome, LocalizedText] = {
    Outcome.PASSED: LocalizedText(en="Passed", ar="ناجح"),
    Outcome.FAILED: LocalizedText(en="Did not pass", ar="لم يحالفه النجاح"),
}


class RequestStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    READY_TO_SIT = "ready_to_sit"
    AWAITING_SESSION = "awaiting_session"
    SCHEDULED = "scheduled"
    AWAITING_RESULT = "awaiting_result"
    CERTIFICATE_READY = "certificate_ready"
    CERTIFICATE_COLLECTED = "certificate_collected"
    FAILED = "failed"
    ABSENT = "absent"
    CANCELLED = "cancelled"


class RequestAction(StrEnum):
    SUBMIT = "submit"
    PAY = "pay"
    EXPIRE = "expire"
    WITHDRAW = "withdraw"
    CANCEL = "cancel"
    REFUND_LATE_PAYMENT = "refund_late_payment"
    JOIN_SESSION = "join_session"
    SCHEDULE = "schedule"
    RECORD_ATTENDANCE = "record_attendance"
    RECORD_ABSENCE = "record_absence"
    RECORD_RESULT = "record_result"
    RECORD_COLLECTION = "record_collection"


class SessionStatus(StrEnum):
    OPEN = "open"
    AWAITING_DATE = "awaiting_date"
    SCHEDULED = "scheduled"


class SessionAction(StrEnum):
    OPEN = "open"
    ADMIT = "admit"
    REACH_MINIMUM = "reach_minimum"
    MARK_OVERDUE = "mark_overdue"
    SCHEDULE = "schedule"


# ---- the workflows, as data ------------------------------------------------------------------


REQUEST_WORKFLOW: tuple[Step, ...] = (
    Step(
        RequestAction.SUBMIT,
        None,
        RequestStatus.AWAITING_PAYMENT,
        (CITIZEN,),
        "Request confirmed; fee requested",
        "تم تأكيد الطلب وطلب دفع الرسوم",
        "the applicant confirms the request (POST /v1/requests)",
    ),
    Step(
        RequestAction.PAY,
        RequestStatus.AWAITING_PAYMENT,
        RequestStatus.READY_TO_SIT,
        (SYSTEM,),
        "Fee paid; come any time during working hours",
        "تم دفع الرسوم؛ الحضور في أي وقت خلال الدوام الرسمي",
        "payments.bill.paid.v1",
        branch=ExamType.TRIAL,
    ),
    Step(
        RequestAction.PAY,
        RequestStatus.AWAITING_PAYMENT,
        RequestStatus.AWAITING_SESSION,
        (SYSTEM,),
        "Fee paid; waiting for the session to be complete",
        "تم دفع الرسوم؛ بانتظار اكتمال الحد الأدنى لجلسة الامتحان",
        "payments.bill.paid.v1",
        branch=ExamType.OFFICIAL,
    ),
    Step(
        RequestAction.EXPIRE,
        RequestStatus.AWAITING_PAYMENT,
        RequestStatus.CANCELLED,
        (SYSTEM,),
        "Cancelled: the fee was not paid in time",
        "أُلغي الطلب لعدم دفع الرسوم في الموعد المحدد",
        "payments.bill.expired.v1",
    ),
    Step(
        RequestAction.WITHDRAW,
        RequestStatus.AWAITING_PAYMENT,
        RequestStatus.CANCELLED,
        (CITIZEN,),
        "Withdrawn by the applicant",
        "سحب مقدم الطلب طلبه",
        "the applicant withdraws the unpaid request (POST /v1/requests/{number}/withdrawal)",
    ),
    Step(
        RequestAction.CANCEL,
        RequestStatus.AWAITING_PAYMENT,
        RequestStatus.CANCELLED,
        (SYSTEM,),
        "Cancelled: the bill was cancelled",
        "أُلغي الطلب لإلغاء فاتورة الرسوم",
        "payments.bill.cancelled.v1",
    ),
    Step(
        RequestAction.REFUND_LATE_PAYMENT,
        RequestStatus.CANCELLED,
        RequestStatus.CANCELLED,
        (SYSTEM,),
        "Paid after cancellation; refund requested",
        "دُفعت الرسوم بعد الإلغاء؛ طُلب استرداد المبلغ",
        "payments.bill.paid.v1 for a cancelled request",
    ),
    Step(
        RequestAction.JOIN_SESSION,
        RequestStatus.AWAITING_SESSION,
        RequestStatus.AWAITING_SESSION,
        (SYSTEM,),
        "Joined the exam session",
        "انضم الطلب إلى جلسة الامتحان",
        "payments.bill.paid.v1, once the session has a seat for it",
    ),
    Step(
        RequestAction.SCHEDULE,
        RequestStatus.AWAITING_SESSION,
        RequestStatus.SCHEDULED,
        (SYSTEM,),
        "Exam date set",
        "تم تحديد موعد الامتحان",
        "exams.session.scheduled.v1 (a coordinator set the session's date)",
    ),
    Step(
        RequestAction.RECORD_ATTENDANCE,
        RequestStatus.READY_TO_SIT,
        RequestStatus.AWAITING_RESULT,
        (COORDINATOR,),
        "Sat the exam",
        "تم عقد الامتحان",
        "a coordinator records attendance",
        branch=ExamType.TRIAL,
    ),
    Step(
        RequestAction.RECORD_ATTENDANCE,
        RequestStatus.SCHEDULED,
        RequestStatus.AWAITING_RESULT,
        (COORDINATOR,),
        "Sat the exam",
        "تم عقد الامتحان",
        "a coordinator records attendance, on or after the exam day",
        branch=ExamType.OFFICIAL,
    ),
    Step(
        RequestAction.RECORD_ABSENCE,
        RequestStatus.SCHEDULED,
        RequestStatus.ABSENT,
        (COORDINATOR,),
        "Did not attend the exam",
        "لم يحضر الامتحان",
        "a coordinator records absence, after the exam started",
    ),
    Step(
        RequestAction.RECORD_RESULT,
        RequestStatus.AWAITING_RESULT,
        RequestStatus.CERTIFICATE_READY,
        (COORDINATOR,),
        "Passed; certificate ready for collection",
        "ناجح؛ الشهادة جاهزة للاستلام",
        "a coordinator records the reviewed result",
        branch=Outcome.PASSED,
    ),
    Step(
        RequestAction.RECORD_RESULT,
        RequestStatus.AWAITING_RESULT,
        RequestStatus.FAILED,
        (COORDINATOR,),
        "Did not pass",
        "لم يحالفه النجاح",
        "a coordinator records the reviewed result",
        branch=Outcome.FAILED,
    ),
    Step(
        RequestAction.RECORD_COLLECTION,
        RequestStatus.CERTIFICATE_READY,
        RequestStatus.CERTIFICATE_COLLECTED,
        (COORDINATOR,),
        "Certificate collected",
        "تم استلام الشهادة",
        "a coordinator hands the certificate over",
    ),
)

_APPLY_AGAIN_EN = "You may submit a new request at www.amman.jo."
_APPLY_AGAIN_AR = "يمكنكم تقديم طلب جديد عبر www.amman.jo."

REQUEST_STATES: Mapping[str, State] = {
    RequestStatus.AWAITING_PAYMENT: State(
        "Awaiting payment",
        "بانتظار دفع الرسوم",
        "Pay the fee of {fee} JOD with the e-payment number sent to you by SMS, by {due}.",
        "ادفع الرسوم ({fee} دينار) باستخدام رقم الدفع الإلكتروني المرسل إليك برسالة نصية "
        "قبل {due}.",
    ),
    RequestStatus.READY_TO_SIT: State(
        "Ready to sit the trial exam",
        "جاهز لعقد الامتحان التجريبي",
        "Come to {centre} any time during working hours ({hours}) to sit the exam.",
        "احضر إلى {centre} في أي وقت خلال أوقات الدوام الرسمي ({hours}) لعقد الامتحان.",
    ),
    RequestStatus.AWAITING_SESSION: State(
        "Waiting for the exam session",
        "بانتظار جلسة الامتحان",
        "Wait for the session to have {minimum} paid candidates; its date is then set within "
        "one working week and sent to you by SMS.",
        "انتظر اكتمال الحد الأدنى لجلسة الامتحان ({minimum} متقدمين)، ثم يُحدد موعدها خلال "
        "أسبوع عمل ويُرسل إليك برسالة نصية.",
        sla_working_days=DATE_SLA_WORKING_DAYS,
    ),
    RequestStatus.SCHEDULED: State(
        "Exam date set",
        "تم تحديد موعد الامتحان",
        "Sit the exam on {exam_at} at {venue}; bring {documents}.",
        "احضر الامتحان في {exam_at} في {venue}، مع إحضار {documents}.",
    ),
    RequestStatus.AWAITING_RESULT: State(
        "Awaiting the result",
        "بانتظار النتيجة",
        "Wait for the result: it is sent to you by SMS once reviewed.",
        "انتظر النتيجة: تُرسل إليك برسالة نصية بعد مراجعتها.",
    ),
    RequestStatus.CERTIFICATE_READY: State(
        "Certificate ready for collection",
        "الشهادة جاهزة للاستلام",
        "Collect your certificate from {centre} during working hours ({hours}); bring {documents}.",
        "استلم شهادتك من {centre} خلال أوقات الدوام الرسمي ({hours})، مع إحضار {documents}.",
    ),
    RequestStatus.CERTIFICATE_COLLECTED: State(
        "Certificate collected", "تم استلام الشهادة", is_final=True
    ),
    RequestStatus.FAILED: State(
        "Did not pass", "لم يحالفه النجاح", _APPLY_AGAIN_EN, _APPLY_AGAIN_AR, is_final=True
    ),
    RequestStatus.ABSENT: State(
        "Absent from the exam", "غائب عن الامتحان", _APPLY_AGAIN_EN, _APPLY_AGAIN_AR, is_final=True
    ),
    RequestStatus.CANCELLED: State(
        "Cancelled", "ملغى", _APPLY_AGAIN_EN, _APPLY_AGAIN_AR, is_final=True
    ),
}

SESSION_WORKFLOW: tuple[Step, ...] = (
    Step(
        SessionAction.OPEN,
        None,
        SessionStatus.OPEN,
        (SYSTEM,),
        "Session opened",
        "فُتحت جلسة الامتحان",
        "the first paid candidate of an exam with no session taking candidates",
    ),
    Step(
        SessionAction.ADMIT,
        SessionStatus.OPEN,
        SessionStatus.OPEN,
        (SYSTEM,),
        "Candidate joined",
        "انضم متقدم إلى الجلسة",
        "a candidate paid",
    ),
    Step(
        SessionAction.REACH_MINIMUM,
        SessionStatus.OPEN,
        SessionStatus.AWAITING_DATE,
        (SYSTEM,),
        "Minimum reached; date due within one working week",
        "اكتمل الحد الأدنى؛ يُحدد الموعد خلال أسبوع عمل",
        "the candidate who completes the minimum paid",
    ),
    Step(
        SessionAction.ADMIT,
        SessionStatus.AWAITING_DATE,
        SessionStatus.AWAITING_DATE,
        (SYSTEM,),
        "Candidate joined",
        "انضم متقدم إلى الجلسة",
        "a candidate paid while seats are left",
    ),
    Step(
        SessionAction.MARK_OVERDUE,
        SessionStatus.AWAITING_DATE,
        SessionStatus.AWAITING_DATE,
        (SYSTEM,),
        "Date overdue",
        "تأخر تحديد الموعد عن المدة المحددة",
        "one working week passed without a date (the overdue sweeper)",
    ),
    Step(
        SessionAction.SCHEDULE,
        SessionStatus.AWAITING_DATE,
        SessionStatus.SCHEDULED,
        (COORDINATOR,),
        "Exam date set",
        "تم تحديد موعد الامتحان",
        "a coordinator sets the date agreed with the granting body",
    ),
)

SESSION_STATES: Mapping[str, State] = {
    SessionStatus.OPEN: State(
        "Taking candidates",
        "تستقبل المتقدمين",
        "Wait for {minimum} paid candidates ({candidates} so far).",
        "بانتظار اكتمال {minimum} متقدمين ممن دفعوا الرسوم (العدد الحالي {candidates}).",
    ),
    SessionStatus.AWAITING_DATE: State(
        "Awaiting a date",
        "بانتظار تحديد الموعد",
        "Agree a date with {granting_body} and set it by {due}.",
        "نسّق مع {granting_body} وحدد الموعد قبل {due}.",
        sla_working_days=DATE_SLA_WORKING_DAYS,
    ),
    SessionStatus.SCHEDULED: State(
        "Scheduled",
        "تم تحديد الموعد",
        "Hold the exam on {exam_at} at {venue}; record attendance and results.",
        "اعقد الامتحان في {exam_at} في {venue}، وسجّل الحضور والنتائج.",
    ),
}
