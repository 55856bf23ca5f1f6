"""What the inquiry shows of a renewal: its state's label, the next step with its values filled
in (the fee in JOD, the due time and the validity in Amman's time), and the timeline's labels, in
Arabic and English. Not a rule of the domain: the API's view of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from contracts import LocalizedText
from services.common import workflow
from services.common.workflow import TimelineEntry
from services.contractors.domain import AMMAN, STATES, WORKFLOW, RenewalRequest, Status, steps


def amman_time(instant: datetime) -> str:
    return instant.astimezone(AMMAN).strftime("%d/%m/%Y %H:%M")


def day_text(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def fils_as_jod(fils: int) -> str:
    dinars, rest = divmod(fils, 1000)
    return f"{dinars}.{rest:03d}"


@dataclass(frozen=True)
class TimelineLine:
    entry: TimelineEntry
    label: LocalizedText
    target_label: LocalizedText


@dataclass(frozen=True)
class Inquiry:
    status_label: LocalizedText
    next_step: LocalizedText | None
    timeline: tuple[TimelineLine, ...]


def inquiry(request: RenewalRequest) -> Inquiry:
    state = STATES[request.status]
    values = {
        "fee": fils_as_jod(request.fee.amount_fils) if request.fee else "",
        "due": amman_time(request.fee.due_at) if request.fee else "",
        "valid_from": day_text(request.valid_from) if request.valid_from else "",
        "valid_to": day_text(request.valid_to) if request.valid_to else "",
    }
    next_step = (
        None
        if state.next_en is None or state.next_ar is None
        else LocalizedText(en=state.next_en.format_map(values), ar=state.next_ar.format_map(values))
    )
    return Inquiry(
        status_label=state.label,
        next_step=next_step,
        timeline=tuple(
            TimelineLine(
                entry=entry, label=_entry_label(entry), target_label=STATES[entry.target].label
            )
            for entry in request.history
        ),
    )


def _entry_label(entry: TimelineEntry) -> LocalizedText:
    step = workflow.move_of(WORKFLOW, entry.action, entry.source, entry.target)
    return step.label if step else steps(entry.action)[0].label


def status_label(status: Status) -> LocalizedText:
    return STATES[status].label
