"""The 3-working-day target (seed 000), tracked as an SLA: when its clock runs, pauses and stops,
when it is missed, and which requests are overdue."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.common.calendar import WorkingCalendar
from services.licensing.domain.request import Change, LicenceRequest
from services.licensing.domain.workflow import FINAL, SLA_WORKING_DAYS, STATES

# ---- the SLA ---------------------------------------------------------------------------------


def _end_of_day(calendar: WorkingCalendar, day_end: datetime, extra_working_days: int) -> datetime:
    """`day_end` (an end-of-working-day instant) moved on by `extra_working_days`."""
    zone = ZoneInfo(calendar.tz)
    last_day = calendar.local_date(day_end - timedelta(microseconds=1))
    moved = calendar.add_working_days(last_day, extra_working_days)
    return datetime.combine(moved + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)


def sla_after(
    before: LicenceRequest, after: LicenceRequest, now: datetime, calendar: WorkingCalendar
) -> tuple[dict[str, object], bool]:
    """The SLA fields after a move from `before`'s state to `after`'s, and whether it breached.

    The clock runs while the municipality has the next move. Time waiting for the applicant
    (corrections, rectification) or for another authority pauses it, as government practice
    counts it: each working day that begins while paused moves the target on by one working day.
    It stops at the committee's decision (the licence follows the payment automatically).
    """
    was, will = STATES[before.status].sla, STATES[after.status].sla
    if was == will:
        return {}, False
    updates: dict[str, object] = {}
    due = before.sla_due_at
    if will == "running":
        if due is None:
            due = calendar.deadline_after(now, SLA_WORKING_DAYS)
        elif before.sla_paused_at is not None:
            paused_days = calendar.working_days_between(
                calendar.local_date(before.sla_paused_at), calendar.local_date(now)
            )
            if before.sla_breached_at is None:
                due = _end_of_day(calendar, due, paused_days)
        updates.update(sla_due_at=due, sla_paused_at=None, sla_check_at=due)
        if before.sla_breached_at is None and due is not None and now >= due:
            updates.update(sla_breached_at=now, sla_check_at=None)
            return updates, True
        if before.sla_breached_at is not None:
            updates["sla_check_at"] = None
        return updates, False
    updates["sla_check_at"] = None
    breached = False
    if was == "running" and due is not None and before.sla_breached_at is None and now >= due:
        updates["sla_breached_at"] = now
        breached = True
    if will == "paused":
        updates["sla_paused_at"] = now
    if will == "stopped":
        updates.update(sla_stopped_at=now, sla_paused_at=None)
    return updates, breached


def is_overdue(request: LicenceRequest, now: datetime) -> bool:
    """Open and past its target: running now past it, or paused after passing it."""
    if request.status in FINAL or request.sla_due_at is None:
        return False
    phase = STATES[request.status].sla
    if phase == "running":
        return now >= request.sla_due_at
    if phase == "paused":
        return request.sla_breached_at is not None
    return False


def check_sla(request: LicenceRequest, now: datetime) -> Change | None:
    """The sweeper's look at `sla_check_at`: record the breach once, stop looking. None when
    nobody needs to look any more (a second sweep)."""
    if (
        STATES[request.status].sla == "running"
        and request.sla_breached_at is None
        and request.sla_due_at is not None
        and now >= request.sla_due_at
    ):
        return Change(
            request.model_copy(update={"sla_breached_at": now, "sla_check_at": None}),
            breached=True,
        )
    if request.sla_check_at is None:
        return None
    return Change(request.model_copy(update={"sla_check_at": None}))
