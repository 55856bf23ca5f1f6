"""How every text a citizen reads (SMS and the inquiry screen) writes dates, times, amounts and
deadlines: one module, so the five services and the notifier say them alike.

- a date is `dd/mm/yyyy` (`14/12/2026`), in Amman's calendar;
- a time of day is `HH:MM` on the 24-hour clock, Amman time (`09:30`);
- an amount is JOD with the three decimals of fils (`12.500`), never a float;
- a deadline is due at 23:59 Amman time of its last day (`end_of_day(day)`), and is stated that
  way: `08/12/2026 23:59`.

The services keep a deadline as the last second of its last day (23:59:59 Amman time), so a
payment or a correction made at 23:59 is in time and the stated minute is the real one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from contracts import LocalizedText

AMMAN = ZoneInfo("Asia/Amman")
_LAST_SECOND = time(23, 59, 59)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("need an aware datetime")
    return instant.astimezone(AMMAN)


def amman_date(value: date | datetime | str) -> str:
    """`14/12/2026`: a date (or the Amman date of an instant, or an ISO date string)."""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = _aware(value).date()
    return value.strftime("%d/%m/%Y")


def amman_clock(instant: datetime) -> str:
    """Only the time of day in Amman: `14:35`."""
    return _aware(instant).strftime("%H:%M")


def amman_time(instant: datetime) -> str:
    """An instant as Amman reads it: `01/12/2026 23:59` (Asia/Amman, 24-hour clock)."""
    return _aware(instant).strftime("%d/%m/%Y %H:%M")


def format_jod(fils: int) -> str:
    """12500 fils -> `12.500`: dinars with the three decimals of fils, never a float."""
    if fils < 0:
        raise ValueError("an amount is never negative")
    dinars, rest = divmod(fils, 1000)
    return f"{dinars}.{rest:03d}"


def end_of_day(day: date) -> datetime:
    """The deadline of a last day: 23:59:59 Amman time of `day`, as aware UTC."""
    return datetime.combine(day, _LAST_SECOND, tzinfo=AMMAN).astimezone(UTC)


def deadline_of(instant: datetime) -> datetime:
    """The same deadline, for one kept as the midnight that ends its last day: the second before
    it, so its last day is the day it ends, and it reads `23:59` of that day."""
    return instant - timedelta(seconds=1) if amman_clock(instant) == "00:00" else instant


def deadline_text(instant: datetime) -> str:
    """A deadline as stated to a citizen: its last day at 23:59 (`08/12/2026 23:59`)."""
    return amman_time(deadline_of(instant))


def pending_bill_text(e_payment_number: str, amount_fils: int, due_at: datetime) -> LocalizedText:
    """What the inquiry screen says while a bill waits: the number, the amount, the due time."""
    amount, due = format_jod(amount_fils), deadline_text(due_at)
    return LocalizedText(
        ar=(
            f"ادفعوا {amount} دينار برقم الدفع الإلكتروني {e_payment_number} عبر إي فواتيركم "
            f"قبل {due}."
        ),
        en=(
            f"Pay {amount} JOD with e-payment number {e_payment_number} via eFAWATEERcom "
            f"before {due} (Amman time)."
        ),
    )


class TimelineLinePublic(BaseModel):
    """One line of a request's timeline as an inquiry shows it: when, which step (with its
    label), from which state to which, who, and why."""

    at: datetime
    action: str
    status_from: str | None
    status_to: str
    label: LocalizedText
    by: str
    reason: str | None


class PendingBillPublic(BaseModel):
    """A bill waiting to be paid, as every inquiry screen shows it."""

    e_payment_number: str
    amount_fils: int
    amount: str = Field(description="The amount in JOD with three decimals, e.g. `10.000`.")
    currency: str = "JOD"
    due_at: datetime
    due: str = Field(description="The last minute to pay, Amman time: `26/11/2026 23:59`.")
    how_to_pay: LocalizedText

    @classmethod
    def of(cls, e_payment_number: str, amount_fils: int, due_at: datetime) -> PendingBillPublic:
        return cls(
            e_payment_number=e_payment_number,
            amount_fils=amount_fils,
            amount=format_jod(amount_fils),
            due_at=due_at,
            due=deadline_text(due_at),
            how_to_pay=pending_bill_text(e_payment_number, amount_fils, due_at),
        )
