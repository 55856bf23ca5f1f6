"""Realistic examples of every event and command, published in the AsyncAPI document.

Each example's ``data`` is validated by its contract model (:func:`example_data` goes through
``model_validate`` and ``model_dump``) and wrapped in the envelope by :func:`new_event`, so an
example cannot drift from the contract: the generator fails on an example its model refuses, and
a unit test validates every published example against the generated JSON Schema.

Texts a citizen reads are in Arabic and English (``{"ar": ..., "en": ...}``); an event about an
applicant has two examples, one for an Arabic-speaking applicant and one for an English-speaking
one (``lang``), since the notifier answers each in their own language.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from contracts import (
    contractors,
    courses,
    documents,
    exams,
    licensing,
    notifier,
    payments,
    training,
)
from contracts.envelope import CloudEvent, new_event
from contracts.notifier import SEND_SMS_COMMAND, SendSms, send_sms_command
from contracts.registry import REGISTRY, EventRegistry, EventSpec

__all__ = [
    "EXAMPLE_CODE_PUBLIC_KEY",
    "EXAMPLE_SEALED_CODE",
    "EXAMPLE_TIME",
    "command_examples",
    "example_data",
    "examples_of",
]

EXAMPLE_TIME = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

# `{"code": "482913"}` sealed for the example public key below (not any deployment's key).
EXAMPLE_CODE_PUBLIC_KEY = "fRO6tHnbNMOk/JRaGmVrgZRbNh9G0cHI/bbKWHaWj3Y="
EXAMPLE_SEALED_CODE = (
    "KCnx7uciW99OQBhDCJbvAbRZljTwbZ8JCTOzP1mWrH7sMGaab9joQBt445wN5XQzsodz2tec+FDkCXcSLyyH8PU="
)
_AT = EXAMPLE_TIME.isoformat().replace("+00:00", "Z")
_PAID_AT = "2026-11-23T10:42:17Z"
_OWNER = "citizen-9f3a"

AR_APPLICANT: dict[str, Any] = {
    "name": "ليلى أحمد",
    "phone": "+962791234567",
    "lang": "ar",
    "national_id": "9901234567",
}
EN_APPLICANT: dict[str, Any] = {
    "name": "Omar Haddad",
    "phone": "+962781234568",
    "lang": "en",
    "national_id": "9851234560",
}

# ---- each service's request, as its events carry it ---------------------------------------

_EXAM: dict[str, Any] = {
    "code": "icdl-documents",
    "type": "official",
    "name": {"ar": "ICDL معالجة النصوص", "en": "ICDL Documents"},
    "subject": {
        "ar": "الرخصة الدولية لقيادة الحاسوب",
        "en": "International Computer Driving Licence",
    },
    "granting_body": {"ar": "ICDL العربية", "en": "ICDL Arabia"},
}
_CENTRE: dict[str, Any] = {
    "name": {"ar": "المحطة المعرفية - رأس العين", "en": "Knowledge Station, Ras Al-Ain"},
    "working_hours": {"ar": "الأحد إلى الخميس 8:30-15:00", "en": "Sunday to Thursday 08:30-15:00"},
}
_DOCUMENTS: dict[str, Any] = {"ar": "البطاقة الشخصية سارية المفعول", "en": "your valid ID card"}
_EXAM_REQUEST: dict[str, Any] = {
    "request_number": "EX-2026-000123",
    "exam": _EXAM,
    "applicant": AR_APPLICANT,
    "owner_subject": _OWNER,
}
_COURSE: dict[str, Any] = {
    "code": "CO-2026-000007",
    "title": {"ar": "أساسيات البرمجة", "en": "Programming basics"},
    "starts_at": "2026-12-06T14:00:00Z",
    "schedule": {"ar": "الأحد والثلاثاء 5-7 مساءً", "en": "Sun and Tue 5-7 pm"},
    "place": {"ar": "المحطة المعرفية - ماركا", "en": "Knowledge Station, Marka"},
    "fee_fils": 30000,
}
_COURSE_SUBJECT: dict[str, Any] = {"ar": "أساسيات الحاسوب", "en": "computer basics"}
_COURSE_REQUEST: dict[str, Any] = {
    "request_number": "CR-2026-000123",
    "course": _COURSE,
    "applicant": AR_APPLICANT,
    "owner_subject": _OWNER,
}
_SHOP: dict[str, Any] = {
    "trade_name": "بقالة الأمل",
    "profession_code": "grocery",
    "profession": {"ar": "بقالة", "en": "Grocery"},
    "camp_code": "wehdat",
    "camp": {"ar": "مخيم الوحدات", "en": "Al-Wehdat (Amman New Camp)"},
    "area_m2": 35.5,
}
_LICENCE_REQUEST: dict[str, Any] = {
    "request_number": "LC-2026-000123",
    "request": _SHOP,
    "applicant": AR_APPLICANT,
    "owner_subject": _OWNER,
}
_CIVIL_DEFENCE: dict[str, Any] = {"ar": "المديرية العامة للدفاع المدني", "en": "Civil Defence"}
_TRAINING_DETAILS: dict[str, Any] = {
    "kind": "training",
    "department_code": "gis",
    "department": {"ar": "دائرة نظم المعلومات الجغرافية", "en": "GIS Department"},
    "start_date": "2026-12-06",
    "end_date": "2026-12-31",
    "course": {
        "code": "arcgis_pro",
        "name": {"ar": "دورة ArcGIS Pro", "en": "ArcGIS Pro course"},
        "hours": 30,
        "fee_fils": 200000,
    },
    "fee_fils": 200000,
}
_TRAINING_REQUEST: dict[str, Any] = {
    "request_number": "TR-2026-000045",
    "details": _TRAINING_DETAILS,
    "applicant": AR_APPLICANT,
    "owner_subject": _OWNER,
}
_PERMIT: dict[str, Any] = {
    "contractor_number": "C-10234",
    "contractor_name": {"ar": "مؤسسة النور للمقاولات", "en": "Al-Noor Contracting Est."},
    "permit_number": "P-2026-0112",
    "permit_year": 2026,
    "classification": "buildings",
    "category": "3",
}
_RENEWAL: dict[str, Any] = {
    "request_number": "CP-2026-000123",
    "permit": _PERMIT,
    "applicant": AR_APPLICANT,
    "owner_subject": _OWNER,
}

# Per requesting service: its request number, what its fee is for, and how much.
_PAYERS: dict[str, tuple[str, dict[str, str], int, str]] = {
    "exams": (
        "EX-2026-000123",
        {"ar": "رسوم امتحان: ICDL معالجة النصوص", "en": "Exam fee: ICDL Documents"},
        25000,
        "exams.exam_fee",
    ),
    "courses": (
        "CR-2026-000123",
        {"ar": "رسوم دورة: أساسيات البرمجة", "en": "Course fee: Programming basics"},
        30000,
        "courses.course_fee",
    ),
    "licensing": (
        "LC-2026-000123",
        {"ar": "رسوم رخصة مهن: بقالة الأمل", "en": "Trade licence fee: بقالة الأمل"},
        33000,
        "licensing.licence_fee",
    ),
    "training": (
        "TR-2026-000045",
        {"ar": "رسوم تدريب: دورة ArcGIS Pro", "en": "Training fee: ArcGIS Pro course"},
        200000,
        "training.training_fee",
    ),
    "contractors": (
        "CP-2026-000123",
        {"ar": "رسوم تجديد تصريح مقاول", "en": "Contractor permit renewal fee"},
        100000,
        "contractors.permit_renewal",
    ),
}


def _payment_examples(service: str) -> dict[type[BaseModel], dict[str, Any]]:
    number, what, amount, service_type = _PAYERS[service]
    fee = f"{service}:{number}:fee"
    return {
        payments.PaymentRequested: {
            "payment_reference": fee,
            "request_number": number,
            "amount_fils": amount,
            "currency": "JOD",
            "description": what,
            "due_at": "2026-11-26T21:59:59Z",
            "payer": AR_APPLICANT,
            "service_type": service_type,
            "owner_subject": _OWNER,
        },
        payments.PaymentCancelled: {
            "payment_reference": fee,
            "request_number": number,
            "reason": "the applicant withdrew the request before paying",
        },
        payments.RefundRequested: {
            "payment_reference": fee,
            "refund_reference": f"{service}:{number}:refund",
            "request_number": number,
            "amount_fils": amount,
            "reason": {
                "ar": "استرداد بعد إلغاء الطلب",
                "en": "Refund after the request was cancelled",
            },
            "needs_approval": True,
            "payer": AR_APPLICANT,
        },
    }


_BILL: dict[str, Any] = {
    "payment_reference": "exams:EX-2026-000123:fee",
    "request_number": "EX-2026-000123",
    "e_payment_number": "2026000123457",
}
_REFUND: dict[str, Any] = {
    "refund_reference": "training:TR-2026-000045:refund",
    "payment_reference": "training:TR-2026-000045:fee",
    "request_number": "TR-2026-000045",
    "amount_fils": 150000,
    "applicant": AR_APPLICANT,
}

_OWN: dict[type[BaseModel], dict[str, Any]] = {
    payments.BillIssued: {
        **_BILL,
        "amount_fils": 25000,
        "due_at": "2026-11-26T21:59:59Z",
        "description": _PAYERS["exams"][1],
        "applicant": AR_APPLICANT,
        "biller_code": "106",
    },
    payments.BillPaid: {
        **_BILL,
        "amount_fils": 25000,
        "paid_at": _PAID_AT,
        "applicant": AR_APPLICANT,
        "provider": "efawateercom",
        "provider_transaction_id": "EFW-20261123-0042",
    },
    payments.BillExpired: {**_BILL, "at": "2026-11-26T22:00:00Z", "applicant": AR_APPLICANT},
    payments.BillCancelled: {**_BILL, "at": _AT, "applicant": AR_APPLICANT},
    payments.RefundApproved: {**_REFUND, "decided_by_role": "finance.approver"},
    payments.RefundRejected: {
        **_REFUND,
        "decided_by_role": "finance.approver",
        "reason": "the bill was never paid",
    },
    notifier.SmsFailed: {
        "message_id": "exams:EX-2026-000123:bill_issued",
        "event_id": "7f1c2b9e4d0a4c6f9b3e2a1d5c8e7f60",
        "event_type": "jo.gov.amman.payments.bill.issued.v1",
        "template": "bill_issued",
        "phone_masked": "+96279*****67",
        "status": "permanent-failure",
        "reason": "number not in service",
        "request_number": "EX-2026-000123",
    },
    exams.ExamRequestSubmitted: {
        **_EXAM_REQUEST,
        "centre": _CENTRE,
        "fee_fils": 25000,
        "payment_reference": "exams:EX-2026-000123:fee",
        "payment_due_at": "2026-11-26T21:59:59Z",
        "submitted_at": _AT,
    },
    exams.ExamRequestPaid: {
        **_EXAM_REQUEST,
        "centre": _CENTRE,
        "e_payment_number": "2026000123457",
        "amount_fils": 25000,
        "paid_at": _PAID_AT,
        "session_minimum": 5,
    },
    exams.ExamRequestScheduled: {
        **_EXAM_REQUEST,
        "session_number": "ES-2026-000012",
        "exam_at": "2026-12-06T07:00:00Z",
        "venue": _CENTRE["name"],
        "documents": _DOCUMENTS,
    },
    exams.ExamAttendanceRecorded: {**_EXAM_REQUEST, "at": "2026-12-06T06:50:00Z"},
    exams.ExamAbsenceRecorded: {
        **_EXAM_REQUEST,
        "session_number": "ES-2026-000012",
        "exam_at": "2026-12-06T07:00:00Z",
        "at": "2026-12-06T10:00:00Z",
    },
    exams.ExamResultRecorded: {
        **_EXAM_REQUEST,
        "outcome": "passed",
        "score": 86,
        "centre": _CENTRE,
        "documents": _DOCUMENTS,
        "recorded_at": "2026-12-07T09:15:00Z",
    },
    exams.ExamCertificateCollected: {
        **_EXAM_REQUEST,
        "collected_at": "2026-12-20T08:40:00Z",
        "collected_by": "ليلى أحمد",
    },
    exams.ExamRequestCancelled: {
        **_EXAM_REQUEST,
        "cause": "payment_expired",
        "payment_due_at": "2026-11-26T21:59:59Z",
        "at": "2026-11-26T22:00:00Z",
    },
    exams.ExamSessionMinimumReached: {
        "session_number": "ES-2026-000012",
        "exam": _EXAM,
        "minimum": 5,
        "candidates": 5,
        "minimum_reached_at": _PAID_AT,
        "date_due_at": "2026-11-30T21:00:00Z",
    },
    exams.ExamSessionScheduled: {
        "session_number": "ES-2026-000012",
        "exam": _EXAM,
        "exam_at": "2026-12-06T07:00:00Z",
        "venue": _CENTRE["name"],
        "candidates": ["EX-2026-000123", "EX-2026-000124"],
        "scheduled_at": "2026-11-24T08:00:00Z",
    },
    exams.ExamSessionOverdue: {
        "session_number": "ES-2026-000012",
        "exam": _EXAM,
        "candidates": 5,
        "minimum_reached_at": _PAID_AT,
        "date_due_at": "2026-11-30T21:00:00Z",
    },
    courses.CourseRequestSubmitted: {**_COURSE_REQUEST, "submitted_at": _AT},
    courses.CourseRequestApproved: _COURSE_REQUEST,
    courses.PlacementTestRequired: {
        **_COURSE_REQUEST,
        "subject": _COURSE_SUBJECT,
        "placement_test_url": "https://tests.amman.jo/p/computer-basics",
    },
    courses.CourseRequestRefused: {**_COURSE_REQUEST, "subject": _COURSE_SUBJECT},
    courses.CourseRequestPaid: {
        **_COURSE_REQUEST,
        "e_payment_number": "2026000123457",
        "paid_at": _PAID_AT,
    },
    courses.CourseRequestCancelled: {
        **_COURSE_REQUEST,
        "reason": {"ar": "لم تُدفع الرسوم", "en": "the fee was not paid"},
    },
    courses.CourseRequestRescheduled: {
        **_COURSE_REQUEST,
        "previous_starts_at": "2026-11-29T14:00:00Z",
        "minimum_not_reached": True,
    },
    courses.CourseEvaluationRequested: {
        **_COURSE_REQUEST,
        "evaluation_url": "https://eval.amman.jo/c/CO-2026-000007",
    },
    licensing.LicensingRequestSubmitted: {
        **_LICENCE_REQUEST,
        "submitted_at": _AT,
        "fee_fils": 33000,
        "target_at": "2026-12-07T21:00:00Z",
    },
    licensing.DocumentsRejected: {
        **_LICENCE_REQUEST,
        "documents": [
            {
                "document": "occupancy_permit",
                "name": {"ar": "إذن الإشغال", "en": "occupancy permit"},
                "issue": "wrong",
                "note": "منتهي الصلاحية",
            }
        ],
        "check_count": 1,
    },
    licensing.InspectionScheduled: {
        **_LICENCE_REQUEST,
        "inspection_at": "2026-11-25T08:30:00Z",
        "is_reinspection": False,
    },
    licensing.RectificationRequired: {
        **_LICENCE_REQUEST,
        "findings": "لا توجد طفاية حريق",
        "inspected_at": "2026-11-25T09:10:00Z",
    },
    licensing.CommitteeDecided: {**_LICENCE_REQUEST, "decision": "approved", "fee_fils": 33000},
    licensing.ExternalApprovalRequired: {
        **_LICENCE_REQUEST,
        "authority_codes": ["civil_defence"],
        "authorities": [_CIVIL_DEFENCE],
    },
    licensing.ExternalApprovalRefused: {
        **_LICENCE_REQUEST,
        "authority_code": "civil_defence",
        "authority": _CIVIL_DEFENCE,
        "is_civil_defence": True,
    },
    licensing.PaymentExpired: {
        **_LICENCE_REQUEST,
        "e_payment_number": "2026000123457",
        "at": "2026-11-30T22:00:00Z",
    },
    licensing.LicenceIssued: {
        **_LICENCE_REQUEST,
        "licence_number": "PL-2026-000042",
        "issued_at": _PAID_AT,
        "valid_until": "2026-12-31T20:59:59Z",
        "verification_url": "https://eservices.amman.jo/v1/licences/Xq3v9kP2mN8rT5wY7zA1bC4dE6fG0hJ",
        "e_payment_number": "2026000123457",
    },
    licensing.LicensingRequestWithdrawn: {**_LICENCE_REQUEST, "at": _AT},
    training.TrainingRequestSubmitted: {**_TRAINING_REQUEST, "submitted_at": _AT},
    training.TrainingAttachmentsRejected: {
        **_TRAINING_REQUEST,
        "note": {"ar": "الكتاب غير مختوم", "en": "the letter is not stamped"},
        "correct_by": "2026-11-26T22:00:00Z",
    },
    training.TrainingRequestRejected: {
        **_TRAINING_REQUEST,
        "reasons": {"ar": "لا يوجد شاغر", "en": "no vacancy"},
    },
    training.TrainingRequestApproved: {**_TRAINING_REQUEST, "is_paid": True},
    training.TrainingPostponementOffered: {
        **_TRAINING_REQUEST,
        "latest_start_date": "2027-01-06",
        "choose_by": "2027-01-05T22:00:00Z",
    },
    training.TrainingPostponed: {**_TRAINING_REQUEST, "previous_start_date": "2026-12-01"},
    training.TrainingRequestCancelled: {
        **_TRAINING_REQUEST,
        "reason_code": "no_show_after_postponement",
        "reason": {"ar": "عدم الحضور", "en": "no-show"},
        "withheld_fils": 50000,
        "refund_fils": 150000,
        "refund_needs_approval": True,
    },
    training.TrainingRequestCompleted: _TRAINING_REQUEST,
    contractors.RenewalSubmitted: {**_RENEWAL, "reason": "انتهاء المدة", "submitted_at": _AT},
    contractors.RenewalApproved: {
        **_RENEWAL,
        "fee_fils": 100000,
        "payment_reference": "contractors:CP-2026-000123:fee",
        "payment_due_at": "2026-11-30T20:59:59Z",
        "approved_at": _AT,
    },
    contractors.RenewalRejected: {
        **_RENEWAL,
        "reason": {"ar": "التصريح موقوف", "en": "The permit is suspended"},
        "rejected_at": _AT,
    },
    contractors.RenewalCompleted: {
        **_RENEWAL,
        "valid_from": "2027-01-01",
        "valid_to": "2027-12-31",
        "fee_fils": 100000,
        "completed_at": _PAID_AT,
    },
    contractors.RenewalCancelled: {
        **_RENEWAL,
        "cause": "payment_expired",
        "payment_due_at": "2026-11-30T20:59:59Z",
        "at": "2026-11-30T21:00:00Z",
    },
    documents.DocumentIssued: {
        "kind": "licence",
        "number": "LC-2026-000123",
        "version": 1,
        "title": {"ar": "رخصة مهن", "en": "Professional licence"},
        "verification_id": "q3Zk9fXb2LwPz0cVt1rYs8Ue",
        "verification_url": (
            "https://eservices.amman.jo/licensing/v1/verify/q3Zk9fXb2LwPz0cVt1rYs8Ue"
        ),
        "issued_at": _PAID_AT,
        "valid_until": "2027-11-30",
        "state": "valid",
        "sha256": "9f2c0d6f1b4a7e3c5d8e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c",
    },
    documents.DocumentRevoked: {
        "kind": "licence",
        "number": "LC-2026-000123",
        "version": 1,
        "verification_id": "q3Zk9fXb2LwPz0cVt1rYs8Ue",
        "issued_at": _PAID_AT,
        "valid_until": "2027-11-30",
        "revoked_at": "2026-12-20T08:00:00Z",
        "state": "revoked",
        "reason": {"ar": "ألغيت الرخصة بقرار اللجنة", "en": "The committee cancelled the licence"},
    },
}

_PERSON_FIELDS = ("applicant", "payer")


def _in_english(data: dict[str, Any]) -> dict[str, Any] | None:
    """The same data for an English-speaking applicant, or None when it names nobody."""
    if not any(name in data for name in _PERSON_FIELDS):
        return None
    return {**data, **{name: EN_APPLICANT for name in _PERSON_FIELDS if name in data}}


def example_data(spec: EventSpec) -> list[tuple[str, BaseModel]]:
    """The named examples of one event type's data, each validated by its model."""
    by_model = _payment_examples(spec.producer) if spec.producer in _PAYERS else {}
    known = {**_OWN, **by_model}
    # A model extended in place (a subclass, as a test or a migration makes) takes its base's.
    raw = next((known[cls] for cls in spec.data_model.__mro__ if cls in known), None)
    if raw is None:
        raise LookupError(f"{spec.routing_key}: no example (add one to contracts/examples.py)")
    out = [("arabic_speaking_applicant", spec.data_model.model_validate(raw))]
    english = _in_english(raw)
    if english is not None:
        out.append(("english_speaking_applicant", spec.data_model.model_validate(english)))
    else:
        out[0] = ("example", out[0][1])
    return out


def _event_id(name: str, routing_key: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:jo:gov:amman:example:{routing_key}:{name}").hex


def examples_of(
    routing_key: str, registry: EventRegistry | None = None
) -> list[tuple[str, CloudEvent]]:
    """The named example events (envelope and data) of a registered event type."""
    spec = (registry if registry is not None else REGISTRY).spec_for(routing_key)
    return [
        (
            name,
            new_event(
                routing_key,
                data,
                source_service=spec.producer,
                subject=getattr(data, "request_number", None)
                or getattr(data, "session_number", None),
                time=EXAMPLE_TIME,
                event_id=_event_id(name, routing_key),
                registry=registry,
            ),
        )
        for name, data in example_data(spec)
    ]


def command_examples() -> list[tuple[str, CloudEvent]]:
    """The named examples of the command ``notifier.sms.send.v1``."""
    otp = SendSms(
        message_id="contractors:CP-2026-000123:verification:1",
        phone="+962791234567",
        lang="ar",
        template="one_time_code",
        sealed_values=EXAMPLE_SEALED_CODE,
        sensitive=True,
        request_number="CP-2026-000123",
        owner_subject=_OWNER,
        expires_at=datetime(2026, 11, 23, 9, 10, tzinfo=UTC),
    )
    text = SendSms(
        message_id="licensing:LC-2026-000123:reminder:1",
        phone="+962781234568",
        lang="en",
        text="Reminder: the inspection of your shop is tomorrow at 11:30.",
        request_number="LC-2026-000123",
        owner_subject=_OWNER,
    )
    return [
        (
            name,
            send_sms_command(command, source_service=sender, time=EXAMPLE_TIME).model_copy(
                update={"id": _event_id(name, SEND_SMS_COMMAND)}
            ),
        )
        for name, command, sender in (
            ("one_time_code", otp, "contractors"),
            ("ready_text_english", text, "licensing"),
        )
    ]
