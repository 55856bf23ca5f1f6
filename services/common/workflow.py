"""Workflow tables: steps and states written once, as data, and what is derived from them.

A service declares its workflow as a table of steps (`action` takes an aggregate from `source` to
`target`; `roles` may take it) and, usually, a table of states (labels, the next step, final or
not). The same tables drive its transitions, the API's role checks, the inquiry's labels and the
README's diagram and tables; this module holds that derivation, free of any domain:

    WORKFLOW: tuple[Step, ...] = (Step(A.SUBMIT, None, S.SUBMITTED, (CITIZEN,), "...", "...",
                                       "the applicant submits (POST /v1/requests)"), ...)
    STATES: Mapping[str, State] = {S.SUBMITTED: State("Awaiting review", "...", "Wait ..."), ...}

    roles_for(WORKFLOW, A.APPROVE)                      # the API's role check
    state_diagram(WORKFLOW, final_states(STATES))       # Mermaid, for the README
    transitions_table(WORKFLOW); states_table(STATES)   # Markdown, for the README

`Step` and `State` serve most services as they are (a service adds its own fields by subclassing);
the functions take any rows with the attributes of `StepLike` / `StateLike`, so a service whose
rows differ (a `by` text instead of a `trigger`, no branches) uses them too. A step's optional
`branch` (which of two rows of one action from one state) and `trigger` (what starts it) are shown
where the rows have them.

It also holds the records several aggregates store the same way: a timeline line (`TimelineEntry`,
with the role; `stored_line` reads the lines stored before it had one), a fee (`Fee`) and the
system as an actor (`system(subject)`). Their field names are what the documents in MongoDB
hold: do not rename them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from contracts import ContractModel, LocalizedText
from services.common.errors import NotAllowedNow, NotPermitted


class StepLike(Protocol):
    """What the functions below read of a step."""

    @property
    def action(self) -> str: ...
    @property
    def source(self) -> str | None: ...
    @property
    def target(self) -> str: ...
    @property
    def roles(self) -> tuple[str, ...]: ...


class StateLike(Protocol):
    """What `states_table` and `final_states` read of a state."""

    @property
    def label_en(self) -> str: ...
    @property
    def label_ar(self) -> str: ...
    @property
    def next_en(self) -> str | None: ...
    @property
    def is_final(self) -> bool: ...


S = TypeVar("S", bound=StepLike)


@dataclass(frozen=True)
class Step:
    """One allowed move: `action` takes an aggregate from `source` (None: it creates it) to
    `target`, taken by one of `roles`. `branch` picks between rows of one action from one state
    (e.g. a free or a paid request); `trigger` says what starts it."""

    action: str
    source: str | None
    target: str
    roles: tuple[str, ...]
    label_en: str
    label_ar: str
    trigger: str
    branch: str | None = None

    @property
    def label(self) -> LocalizedText:
        return LocalizedText(en=self.label_en, ar=self.label_ar)


@dataclass(frozen=True)
class State:
    """A state's labels, the next step it expects (a template the inquiry fills in), its SLA in
    working days where there is one, and whether it is final."""

    label_en: str
    label_ar: str
    next_en: str | None = None
    next_ar: str | None = None
    sla_working_days: int | None = None
    is_final: bool = False

    @property
    def label(self) -> LocalizedText:
        return LocalizedText(en=self.label_en, ar=self.label_ar)


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (their `sub` and roles) or the system."""

    subject: str
    roles: frozenset[str]

    def role_for(self, step: StepLike) -> str:
        """The role under which the actor may take `step`; NotPermitted if none."""
        for role in step.roles:
            if role in self.roles:
                return role
        raise NotPermitted(
            f"{step.action} needs the role {', '.join(step.roles)}",
            f"هذا الإجراء يتطلب صلاحية {'، '.join(step.roles)}",
        )


SYSTEM = "system"


def system(subject: str) -> Actor:
    """The system acting, under the role `system`: `subject` says for whom (the service itself,
    or e.g. `payments` when one of its events moves a request)."""
    return Actor(subject, frozenset({SYSTEM}))


# ---- records the aggregates share ------------------------------------------------------------


class StoredRecord(BaseModel):
    """Base of the shared records: immutable values, compared by content; a stored document's
    unknown fields are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class TimelineEntry(StoredRecord):
    """One line of the timeline (the audit trail): appended, never rewritten. `role` is the one
    the actor acted under; `why` a reason or a reference, where the move has one."""

    at: datetime
    action: str
    source: str | None
    target: str
    by: str
    role: str
    why: str | None = None


def stored_line(workflow: Sequence[StepLike], line: Mapping[str, Any]) -> Mapping[str, Any]:
    """A stored timeline line as `TimelineEntry` reads it. A line stored before the timeline
    carried the role (`by` and `reason`, no `role`: the services' first history records) keeps
    its reason as `why` and gets the first role of the row that made its move, or `system` when
    the system made it (`by` is `system` or `payments`) or no row has a role. Only for reading: a
    stored line is never rewritten."""
    if "role" in line:
        return line
    upgraded = {key: value for key, value in line.items() if key != "reason"}
    upgraded["why"] = line.get("why", line.get("reason"))
    move = move_of(workflow, line.get("action", ""), line.get("source"), line.get("target", ""))
    roles = move.roles if move is not None else ()
    by_system = line.get("by") in (SYSTEM, "payments") or not roles
    upgraded["role"] = SYSTEM if by_system else roles[0]
    return upgraded


class Fee(StoredRecord):
    """A fee billed through payments: its reference, amount and due time, then the e-payment
    number payments gave it, when it was paid, and when a refund was asked for."""

    payment_reference: str
    amount_fils: int
    due_at: datetime
    e_payment_number: str | None = None
    paid_at: datetime | None = None
    refund_requested_at: datetime | None = None


# ---- moves ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raised:
    """An event a change raises: its routing key and its contract data (the service wraps it in
    its envelope when it saves the change; see `outbox.new_events`)."""

    routing_key: str
    data: ContractModel


class Labelled(StepLike, Protocol):
    @property
    def label_en(self) -> str: ...
    @property
    def label_ar(self) -> str: ...


L = TypeVar("L", bound=Labelled)
M = TypeVar("M", bound=BaseModel)


def not_now(workflow: Sequence[Labelled], action: str) -> NotAllowedNow:
    """The refusal of `action` in a state that has no row for it (409)."""
    first = steps(workflow, action)
    label_en = first[0].label_en if first else action
    label_ar = first[0].label_ar if first else action
    return NotAllowedNow(
        f"{label_en}: not possible in the current state",
        f"لا يمكن تنفيذ الإجراء ({label_ar}) في الحالة الحالية",
    )


def find_step(
    workflow: Sequence[L], action: str, source: str | None, branch: str | None = None
) -> L:
    """The row of `action` from `source` (and of `branch`, when rows of one action from one state
    differ by branch: a row without a branch matches any); `not_now` if there is none."""
    for step in workflow:
        if step.action == action and step.source == source and _branch(step) in (None, branch):
            return step
    raise not_now(workflow, action)


def moved(
    aggregate: M,
    workflow: Sequence[L],
    action: str,
    actor: Actor,
    now: datetime,
    *,
    branch: str | None = None,
    why: str | None = None,
    **changes: object,
) -> M:
    """`aggregate` taken by `actor` along the row of `action` from its state: the new state, one
    timeline line (with the role the actor acted under) and `changes`. NotAllowedNow if the
    state has no such row; NotPermitted if the actor has none of its roles."""
    status = getattr(aggregate, "status")  # noqa: B009 (any aggregate with a state)
    step = find_step(workflow, action, str(status), branch)
    entry = TimelineEntry(
        at=now,
        action=action,
        source=step.source,
        target=step.target,
        by=actor.subject,
        role=actor.role_for(step),
        why=why,
    )
    history: tuple[TimelineEntry, ...] = getattr(aggregate, "history")  # noqa: B009
    return aggregate.model_copy(
        update={"status": type(status)(step.target), "history": (*history, entry), **changes}
    )


# ---- lookups ---------------------------------------------------------------------------------


def steps(workflow: Sequence[S], action: str) -> list[S]:
    """Every row of `action`, in table order."""
    return [step for step in workflow if step.action == action]


def roles_for(workflow: Sequence[StepLike], action: str) -> tuple[str, ...]:
    """Every role that may take `action`, in table order (the API's role check comes from here).

    KeyError if the table has no such action."""
    found = steps(workflow, action)
    if not found:
        raise KeyError(action)
    return tuple(dict.fromkeys(role for step in found for role in step.roles))


def move_of(workflow: Sequence[S], action: str, source: str | None, target: str) -> S | None:
    """The row that made a recorded move (to label a timeline entry), or None."""
    for step in workflow:
        if (step.action, step.source, step.target) == (action, source, target):
            return step
    return None


def final_states(states: Mapping[str, StateLike]) -> tuple[str, ...]:
    return tuple(name for name, state in states.items() if state.is_final)


# ---- the README's diagram and tables ---------------------------------------------------------


def _branch(step: StepLike) -> str | None:
    branch: str | None = getattr(step, "branch", None)
    return branch


def _roles(step: StepLike) -> str:
    return ", ".join(step.roles)


def state_diagram(
    workflow: Sequence[StepLike],
    finals: Iterable[str] = (),
    *,
    fold: Mapping[str, str] | None = None,
) -> str:
    """The workflow as a Mermaid state diagram: one line a step (`action when branch (roles)`),
    then `final --> [*]` for each final state.

    `fold` maps an action taken from many states (a withdrawal) to the words for those states:
    its rows become one note on their target instead of a line each."""
    fold = fold or {}
    lines = ["stateDiagram-v2"]
    for step in workflow:
        if step.action in fold:
            continue
        source = "[*]" if step.source is None else step.source
        branch = _branch(step)
        when = f" when {branch}" if branch else ""
        roles = f" ({_roles(step)})" if step.roles else ""
        lines.append(f"    {source} --> {step.target}: {step.action}{when}{roles}")
    for action, where in fold.items():
        first = steps(workflow, action)[0]
        roles = f" ({_roles(first)})" if first.roles else ""
        lines.append(f"    note right of {first.target}: {action}{roles} from {where}")
    for name in finals:
        lines.append(f"    {name} --> [*]")
    return "\n".join(lines)


def transitions_table(
    workflow: Sequence[StepLike], *, fold: Mapping[str, str] | None = None
) -> str:
    """The workflow as a Markdown table: each step, who may take it and what starts it (its
    `trigger`). A folded action (see `state_diagram`) is one row, from the words given."""
    fold = fold or {}
    lines = ["| action | from | to | roles | started by |", "|---|---|---|---|---|"]
    shown: set[str] = set()
    for step in workflow:
        if step.action in fold:
            if step.action in shown:
                continue
            shown.add(step.action)
            source = fold[step.action]
        else:
            source = "—" if step.source is None else f"`{step.source}`"
        branch = _branch(step)
        action = f"`{step.action}`" + (f" ({branch})" if branch else "")
        roles = ", ".join(f"`{role}`" for role in step.roles) or "—"
        lines.append(
            f"| {action} | {source} | `{step.target}` | {roles} | {getattr(step, 'trigger', '—')} |"
        )
    return "\n".join(lines)


def states_table(states: Mapping[str, StateLike]) -> str:
    """The states as a Markdown table: label, next step and, when any state has one, the SLA
    (`sla_working_days`); final states are marked so."""
    slas = {name: getattr(state, "sla_working_days", None) for name, state in states.items()}
    with_sla = any(slas.values())
    lines = (
        ["| state | label | next step | SLA |", "|---|---|---|---|"]
        if with_sla
        else ["| state | label | next step |", "|---|---|---|"]
    )
    for name, state in states.items():
        final = " (final)" if state.is_final else ""
        line = f"| `{name}`{final} | {state.label_en} / {state.label_ar} | {state.next_en or '—'} |"
        if with_sla:
            line += f" {slas[name]} working days |" if slas[name] else " — |"
        lines.append(line)
    return "\n".join(lines)


def readme_section(diagram: str, *tables: str) -> str:
    """A README's workflow section: the diagram in a Mermaid block, then the tables."""
    return "\n\n".join([f"```mermaid\n{diagram}\n```", *tables])
