"""The printable letters of the inquiry screen, as bilingual HTML (Arabic first, right to left).

The approval letter (seed 003, step 10) exists once a request is approved (free, or paid) and
stays printable afterwards; the completion letter (step 12) once a training's period is over. A
mission has no completion letter: its end asks for the study instead. Every value is escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from services.training.domain import (
    LETTER_STATES,
    ApplicantType,
    Kind,
    Status,
    TrainingRequest,
)
from services.training.views import amman_time

_STYLE = (
    "body{font-family:'Noto Naskh Arabic','Segoe UI',sans-serif;margin:2cm;color:#222}"
    "section{margin-bottom:1.5cm}section[dir=ltr]{border-top:1px solid #999;padding-top:1cm}"
    "table{border-collapse:collapse}td{padding:4px 12px;border:1px solid #ccc}"
    "@media print{.noprint{display:none}}"
)


def has_approval(request: TrainingRequest) -> bool:
    return request.status in LETTER_STATES


def has_completion(request: TrainingRequest) -> bool:
    return request.status is Status.COMPLETED and request.application.kind is Kind.TRAINING


def _rows(request: TrainingRequest, lang: str) -> str:
    app = request.application
    ar = lang == "ar"
    kind = (
        ("تدريب" if ar else "Training")
        if app.kind is Kind.TRAINING
        else ("تسهيل مهمة" if ar else "Mission facilitation")
    )
    rows: list[tuple[str, str]] = [
        ("رقم الطلب" if ar else "Request number", request.number),
        ("الاسم" if ar else "Name", request.applicant.name),
        ("نوع الطلب" if ar else "Kind", kind),
        ("الدائرة" if ar else "Department", app.department.ar if ar else app.department.en),
        ("من تاريخ" if ar else "From", app.start_date.isoformat()),
        ("إلى تاريخ" if ar else "To", app.end_date.isoformat()),
    ]
    if app.applicant_type is ApplicantType.NOMINATED and app.institution_name:
        rows.append(("الجهة المنسِّبة" if ar else "Nominated by", app.institution_name))
    if app.course is not None:
        course = app.course.name.ar if ar else app.course.name.en
        hours = f"{app.course.hours} {'ساعة' if ar else 'hours'}"
        rows.append(("الدورة" if ar else "Course", f"{course} ({hours})"))
    if app.study_subject:
        rows.append(("موضوع الدراسة" if ar else "Study subject", app.study_subject))
    cells = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _page(title_ar: str, title_en: str, body_ar: str, body_en: str, request: TrainingRequest,
          now: datetime) -> str:  # fmt: skip
    issued = escape(amman_time(now))
    return (
        "<!doctype html>"
        f'<html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{escape(title_ar)} — '
        f"{escape(title_en)}</title><style>{_STYLE}</style></head><body>"
        f'<section dir="rtl" lang="ar"><h1>أمانة عمّان الكبرى</h1><h2>{escape(title_ar)}</h2>'
        f"<p>{escape(body_ar)}</p>{_rows(request, 'ar')}<p>تاريخ الإصدار: {issued}</p></section>"
        f'<section dir="ltr" lang="en"><h1>Greater Amman Municipality</h1>'
        f"<h2>{escape(title_en)}</h2><p>{escape(body_en)}</p>{_rows(request, 'en')}"
        f"<p>Issued: {issued}</p></section>"
        '<p class="noprint"><button onclick="window.print()">طباعة / Print</button></p>'
        "</body></html>"
    )


def approval(request: TrainingRequest, now: datetime) -> str:
    app = request.application
    if app.kind is Kind.TRAINING:
        body_ar = (
            "تُفيد أمانة عمّان الكبرى بالموافقة على تدريب المذكور أدناه لدى الدائرة المبينة، "
            f"على أن يباشر التدريب اعتباراً من {app.start_date.isoformat()}."
        )
        body_en = (
            "The Greater Amman Municipality approves the training of the person below in the "
            f"department named, starting on {app.start_date.isoformat()}."
        )
    else:
        body_ar = (
            "تُفيد أمانة عمّان الكبرى بالموافقة على تسهيل مهمة المذكور أدناه لإجراء الدراسة "
            f"المبينة، اعتباراً من {app.start_date.isoformat()}."
        )
        body_en = (
            "The Greater Amman Municipality approves facilitating the mission of the person "
            f"below for the study named, starting on {app.start_date.isoformat()}."
        )
    return _page("كتاب موافقة", "Approval letter", body_ar, body_en, request, now)


def completion(request: TrainingRequest, now: datetime) -> str:
    app = request.application
    body_ar = (
        "تشهد أمانة عمّان الكبرى بأن المذكور أدناه أنهى مدة التدريب لدى الدائرة المبينة "
        f"من {app.start_date.isoformat()} إلى {app.end_date.isoformat()}. "
        "يُستلم تقرير التقييم باليد من الدائرة."
    )
    body_en = (
        "The Greater Amman Municipality certifies that the person below completed the training "
        f"period in the department named, from {app.start_date.isoformat()} to "
        f"{app.end_date.isoformat()}. The evaluation report is collected in person."
    )
    return _page(
        "كتاب انتهاء التدريب", "Training completion letter", body_ar, body_en, request, now
    )
