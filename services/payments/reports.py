"""The daily reconciliation report: what happened to money on one day in Amman. Pure.

A day is a calendar day in Asia/Amman (what a finance employee means by "today"), turned into a
UTC window for the queries. Each movement of the day is one line — a bill issued, paid, expired or
cancelled, a refund approved, a payment notification refused (an exception: money received that
must go back) — and the summary totals each kind. The CSV is the lines, one a row, for a
spreadsheet beside the provider's settlement statement.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from services.payments.domain import Bill, BillStatus, Notification, RefundStatus

AMMAN = ZoneInfo("Asia/Amman")


class LineKind(StrEnum):
    ISSUED = "issued"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUND_APPROVED = "refund_approved"
    EXCEPTION = "exception"


class Line(BaseModel):
    kind: LineKind
    at: datetime
    e_payment_number: str
    payment_reference: str | None = None
    request_number: str | None = None
    service: str | None = None
    amount_fils: int
    fees_fils: int | None = None
    provider: str | None = None
    provider_transaction_id: str | None = None
    bank_transaction_id: str | None = None
    access_channel: str | None = None
    detail: str | None = None


class Total(BaseModel):
    count: int = 0
    amount_fils: int = 0


class Summary(BaseModel):
    issued: Total
    paid: Total
    expired: Total
    cancelled: Total
    refunds_approved: Total
    exceptions: Total
    # Fees the provider reported on the day's payments (borne by the payer or the biller).
    fees_fils: int


class DailyReport(BaseModel):
    day: date
    timezone: str
    window_start: datetime
    window_end: datetime
    summary: Summary
    lines: list[Line]


def day_window(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which `day` starts and ends in Amman."""
    start = datetime.combine(day, time(0), tzinfo=AMMAN)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=AMMAN)
    return start.astimezone(UTC), end.astimezone(UTC)


def _bill_line(bill: Bill, kind: LineKind, at: datetime) -> Line:
    return Line(
        kind=kind,
        at=at,
        e_payment_number=bill.e_payment_number,
        payment_reference=bill.payment_reference,
        request_number=bill.request_number,
        service=bill.requesting_service,
        amount_fils=bill.amount_fils,
    )


def _bill_lines(bill: Bill, start: datetime, end: datetime) -> list[Line]:
    lines: list[Line] = []
    if start <= bill.issued_at < end:
        lines.append(_bill_line(bill, LineKind.ISSUED, bill.issued_at))
    closed = bill.closed_at
    if closed is not None and start <= closed < end:
        if bill.status is BillStatus.PAID and bill.payment is not None:
            payment = bill.payment
            line = _bill_line(bill, LineKind.PAID, closed).model_copy(
                update={
                    "amount_fils": payment.paid_amount_fils,
                    "fees_fils": payment.fees_fils,
                    "provider": payment.provider,
                    "provider_transaction_id": payment.provider_transaction_id,
                    "bank_transaction_id": payment.bank_transaction_id,
                    "access_channel": payment.access_channel,
                }
            )
            lines.append(line)
        elif bill.status is BillStatus.EXPIRED:
            lines.append(_bill_line(bill, LineKind.EXPIRED, closed))
        elif bill.status is BillStatus.CANCELLED:
            lines.append(_bill_line(bill, LineKind.CANCELLED, closed))
    for refund in bill.refunds:
        decided = refund.decided_at
        if refund.status is RefundStatus.APPROVED and decided and start <= decided < end:
            line = _bill_line(bill, LineKind.REFUND_APPROVED, decided)
            lines.append(
                line.model_copy(
                    update={"amount_fils": refund.amount_fils, "detail": refund.refund_reference}
                )
            )
    return lines


def _exception_line(notification: Notification) -> Line:
    notice = notification.notice
    return Line(
        kind=LineKind.EXCEPTION,
        at=notification.received_at,
        e_payment_number=notice.e_payment_number,
        amount_fils=notification.refund_due_fils,
        fees_fils=notice.fees_fils,
        provider=notice.provider,
        provider_transaction_id=notice.provider_transaction_id,
        bank_transaction_id=notice.bank_transaction_id,
        access_channel=notice.access_channel,
        detail=notification.exception,
    )


def _total(lines: list[Line], kind: LineKind) -> Total:
    chosen = [line for line in lines if line.kind is kind]
    return Total(count=len(chosen), amount_fils=sum(line.amount_fils for line in chosen))


def daily_report(
    day: date, bills: Iterable[Bill], notifications: Iterable[Notification]
) -> DailyReport:
    start, end = day_window(day)
    lines = [line for bill in bills for line in _bill_lines(bill, start, end)]
    lines += [
        _exception_line(n) for n in notifications if not n.accepted and start <= n.received_at < end
    ]
    lines.sort(key=lambda line: (line.at, line.kind, line.e_payment_number))
    summary = Summary(
        issued=_total(lines, LineKind.ISSUED),
        paid=_total(lines, LineKind.PAID),
        expired=_total(lines, LineKind.EXPIRED),
        cancelled=_total(lines, LineKind.CANCELLED),
        refunds_approved=_total(lines, LineKind.REFUND_APPROVED),
        exceptions=_total(lines, LineKind.EXCEPTION),
        fees_fils=sum(line.fees_fils or 0 for line in lines if line.kind is LineKind.PAID),
    )
    return DailyReport(
        day=day,
        timezone=str(AMMAN),
        window_start=start,
        window_end=end,
        summary=summary,
        lines=lines,
    )


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A text cell a spreadsheet would run as a formula (ids come from outside) is quoted away.
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def to_csv(report: DailyReport) -> str:
    """The report's lines as CSV (RFC 4180, header row first); amounts in fils."""
    buffer = io.StringIO()
    columns = list(Line.model_fields)
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for line in report.lines:
        row = line.model_dump(mode="json")
        writer.writerow({name: _cell(row[name]) for name in columns})
    return buffer.getvalue()
