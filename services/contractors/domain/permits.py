"""The registry's records (a contractor, a permit), the validity rule of a renewal and the fee
schedule. Pure."""

from __future__ import annotations

import calendar as gregorian
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts import LocalizedText
from contracts.contractors import PermitRef
from services.common.calendar import WorkingCalendar
from services.common.errors import RuleBroken
from services.contractors.domain.application import permit_id

AMMAN = ZoneInfo("Asia/Amman")


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PermitStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class Contractor(Record):
    number: str
    name: LocalizedText
    classification: str
    category: str
    phone: str | None = None


class Permit(Record):
    contractor_number: str
    number: str
    year: int
    valid_from: date
    valid_to: date
    status: PermitStatus = PermitStatus.ACTIVE
    last_renewal: str | None = None

    @property
    def id(self) -> str:
        return permit_id(self.number, self.year)


def permit_ref(contractor: Contractor, permit: Permit) -> PermitRef:
    return PermitRef(
        contractor_number=contractor.number,
        contractor_name=contractor.name,
        permit_number=permit.number,
        permit_year=permit.year,
        classification=contractor.classification,
        category=contractor.category,
    )


def check_renewable(permit: Permit) -> None:
    """Only an active permit (in force or lapsed by date) is renewed online."""
    if permit.status is not PermitStatus.ACTIVE:
        raise RuleBroken(
            "This permit is suspended or revoked: it cannot be renewed online; please visit "
            "the contractors section",
            "هذا التصريح موقوف أو ملغى ولا يمكن تجديده إلكترونياً؛ يرجى مراجعة قسم المقاولين",
        )


# ---- the validity rule -----------------------------------------------------------------------


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    year = day.year + years
    last = gregorian.monthrange(year, day.month)[1]
    return day.replace(year=year, day=min(day.day, last))


def new_validity(current_to: date, today: date, years: int = 1) -> tuple[date, date]:
    """The renewed permit's validity: `years` from the later of today and the day after the
    current expiry. A permit renewed early keeps its remaining days; a lapsed one starts today.

    2026-12-31 renewed on 2026-11-23 -> 2027-01-01 .. 2027-12-31;
    2026-06-30 renewed on 2026-11-23 -> 2026-11-23 .. 2027-11-22."""
    start = max(today, current_to + timedelta(days=1))
    return start, add_years(start, years) - timedelta(days=1)


def amman_date(instant: datetime) -> date:
    return instant.astimezone(AMMAN).date()


# ---- the fee schedule -------------------------------------------------------------------------


class FeeRule(Record):
    classification: str = Field(min_length=1)
    category: str | None = None
    fee_fils: int = Field(ge=0)


class FeeSchedule(Record):
    """Renewal fees by classification (and category), as data. The most specific rule wins;
    `default_fils` applies to a classification no rule names. Zero means free."""

    default_fils: int = Field(ge=0)
    rules: tuple[FeeRule, ...] = ()

    @model_validator(mode="after")
    def _no_duplicates(self) -> FeeSchedule:
        keys = [(rule.classification, rule.category) for rule in self.rules]
        if len(keys) != len(set(keys)):
            raise ValueError("two fee rules name the same classification and category")
        return self

    def fee_for(self, classification: str, category: str) -> int:
        for rule in self.rules:
            if rule.classification == classification and rule.category == category:
                return rule.fee_fils
        for rule in self.rules:
            if rule.classification == classification and rule.category is None:
                return rule.fee_fils
        return self.default_fils


def payment_due(calendar: WorkingCalendar, now: datetime, working_days: int) -> datetime:
    """Payable up to the last second of the n-th working day after approval."""
    return calendar.deadline_after(now, working_days) - timedelta(seconds=1)
