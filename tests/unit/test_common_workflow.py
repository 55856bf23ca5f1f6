"""The shared workflow-table machinery: lookups, the Mermaid diagram and the Markdown tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.common.errors import NotPermitted
from services.common.workflow import (
    Actor,
    Fee,
    State,
    Step,
    TimelineEntry,
    final_states,
    move_of,
    readme_section,
    roles_for,
    state_diagram,
    states_table,
    steps,
    stored_line,
    system,
    transitions_table,
)

WORKFLOW: tuple[Step, ...] = (
    Step("submit", None, "review", ("citizen",), "Submitted", "قُدّم", "the applicant"),
    Step("approve", "review", "paid", ("reviewer",), "Approved", "وافق", "a reviewer", "free"),
    Step(
        "approve", "review", "billing", ("reviewer", "head"), "Billed", "فوترة", "a reviewer", "fee"
    ),
    Step("pay", "billing", "paid", ("system",), "Paid", "دُفع", "payments.bill.paid.v1"),
    Step("withdraw", "review", "withdrawn", ("citizen",), "Withdrawn", "سُحب", "the applicant"),
    Step("withdraw", "billing", "withdrawn", ("citizen",), "Withdrawn", "سُحب", "the applicant"),
)
STATES: Mapping[str, State] = {
    "review": State("Under review", "قيد الدراسة", "Wait", "انتظر", sla_working_days=5),
    "billing": State("Awaiting payment", "بانتظار الدفع", "Pay by {due}", "ادفع"),
    "paid": State("Done", "تم", is_final=True),
    "withdrawn": State("Withdrawn", "مسحوب", "Apply again", "قدّم مجدداً", is_final=True),
}


@dataclass(frozen=True)
class PlainStep:
    """A service's own row shape: no branch, a `by` text instead of a trigger."""

    action: str
    source: str | None
    target: str
    by: str
    roles: tuple[str, ...] = ()


def test_roles_for_joins_the_roles_of_every_row_of_the_action_in_order() -> None:
    assert roles_for(WORKFLOW, "approve") == ("reviewer", "head")
    assert roles_for(WORKFLOW, "withdraw") == ("citizen",)
    with pytest.raises(KeyError):
        roles_for(WORKFLOW, "no_such_action")


def test_lookups() -> None:
    assert [step.target for step in steps(WORKFLOW, "approve")] == ["paid", "billing"]
    assert move_of(WORKFLOW, "approve", "review", "billing") is WORKFLOW[2]
    assert move_of(WORKFLOW, "approve", "billing", "paid") is None
    assert final_states(STATES) == ("paid", "withdrawn")
    assert WORKFLOW[0].label.en == "Submitted" and STATES["paid"].label.ar == "تم"


def test_the_diagram_has_a_line_a_step_then_the_final_states() -> None:
    assert state_diagram(WORKFLOW, final_states(STATES)).split("\n") == [
        "stateDiagram-v2",
        "    [*] --> review: submit (citizen)",
        "    review --> paid: approve when free (reviewer)",
        "    review --> billing: approve when fee (reviewer, head)",
        "    billing --> paid: pay (system)",
        "    review --> withdrawn: withdraw (citizen)",
        "    billing --> withdrawn: withdraw (citizen)",
        "    paid --> [*]",
        "    withdrawn --> [*]",
    ]


def test_a_folded_action_is_one_note_in_the_diagram_and_one_row_in_the_table() -> None:
    fold = {"withdraw": "any open state"}
    diagram = state_diagram(WORKFLOW, ("withdrawn",), fold=fold).split("\n")
    assert "    note right of withdrawn: withdraw (citizen) from any open state" in diagram
    assert not [line for line in diagram if "--> withdrawn" in line]
    table = transitions_table(WORKFLOW, fold=fold).split("\n")
    assert [row for row in table if "withdraw" in row] == [
        "| `withdraw` | any open state | `withdrawn` | `citizen` | the applicant |"
    ]


def test_the_transitions_table() -> None:
    assert transitions_table(WORKFLOW[:3]).split("\n") == [
        "| action | from | to | roles | started by |",
        "|---|---|---|---|---|",
        "| `submit` | — | `review` | `citizen` | the applicant |",
        "| `approve` (free) | `review` | `paid` | `reviewer` | a reviewer |",
        "| `approve` (fee) | `review` | `billing` | `reviewer`, `head` | a reviewer |",
    ]


def test_rows_of_another_shape_work_too() -> None:
    plain = (
        PlainStep("issue", None, "new", "a service"),
        PlainStep("refund", "new", "refunded", "finance", ("finance.approver",)),
    )
    assert roles_for(plain, "refund") == ("finance.approver",)
    assert roles_for(plain, "issue") == ()
    assert state_diagram(plain).split("\n") == [
        "stateDiagram-v2",
        "    [*] --> new: issue",
        "    new --> refunded: refund (finance.approver)",
    ]
    assert transitions_table(plain).split("\n")[2] == "| `issue` | — | `new` | — | — |"


def test_the_states_table_shows_an_sla_column_only_when_a_state_has_an_sla() -> None:
    assert states_table(STATES).split("\n") == [
        "| state | label | next step | SLA |",
        "|---|---|---|---|",
        "| `review` | Under review / قيد الدراسة | Wait | 5 working days |",
        "| `billing` | Awaiting payment / بانتظار الدفع | Pay by {due} | — |",
        "| `paid` (final) | Done / تم | — | — |",
        "| `withdrawn` (final) | Withdrawn / مسحوب | Apply again | — |",
    ]
    without = {name: state for name, state in STATES.items() if name != "review"}
    assert states_table(without).split("\n")[:3] == [
        "| state | label | next step |",
        "|---|---|---|",
        "| `billing` | Awaiting payment / بانتظار الدفع | Pay by {due} |",
    ]


def test_an_actor_takes_a_step_under_the_first_of_its_roles_the_step_allows() -> None:
    assert Actor("u1", frozenset({"head", "reviewer"})).role_for(WORKFLOW[2]) == "reviewer"
    with pytest.raises(NotPermitted) as refused:
        Actor("u2", frozenset({"citizen"})).role_for(WORKFLOW[2])
    assert refused.value.detail == "approve needs the role reviewer, head"


def test_the_readme_section_is_the_diagram_in_a_mermaid_block_then_the_tables() -> None:
    assert readme_section("stateDiagram-v2", "| a |", "| b |") == (
        "```mermaid\nstateDiagram-v2\n```\n\n| a |\n\n| b |"
    )


NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def test_the_system_acts_for_a_subject_under_the_role_system() -> None:
    assert system("payments") == Actor("payments", frozenset({"system"}))
    assert system("exams").role_for(WORKFLOW[3]) == "system"


def test_the_shared_records_keep_the_field_names_of_the_stored_documents() -> None:
    # The documents in MongoDB hold these names: renaming one breaks every stored request.
    assert list(TimelineEntry.model_fields) == [
        "at", "action", "source", "target", "by", "role", "why"
    ]  # fmt: skip
    assert list(Fee.model_fields) == [
        "payment_reference", "amount_fils", "due_at", "e_payment_number", "paid_at",
        "refund_requested_at",
    ]  # fmt: skip


def test_a_shared_record_reads_a_stored_document_back_and_is_immutable() -> None:
    stored = {
        "at": NOW, "action": "pay", "source": "billing", "target": "paid", "by": "payments",
        "role": "system", "why": None, "left_over": "ignored",
    }  # fmt: skip
    entry = TimelineEntry.model_validate(stored)
    assert entry.model_dump() == {key: stored[key] for key in TimelineEntry.model_fields}
    with pytest.raises(ValidationError):
        entry.why = "changed"  # type: ignore[misc]
    fee = Fee(payment_reference="exams:EX-2026-000001:fee", amount_fils=25_000, due_at=NOW)
    assert (fee.e_payment_number, fee.paid_at, fee.refund_requested_at) == (None, None, None)


def test_a_line_stored_before_the_timeline_had_roles_reads_with_its_steps_role() -> None:
    old = {"at": NOW, "action": "approve", "source": "review", "target": "billing", "by": "u1"}
    line = TimelineEntry.model_validate(stored_line(WORKFLOW, {**old, "reason": "ok"}))
    assert (line.role, line.why) == ("reviewer", "ok")
    by_payments = stored_line(WORKFLOW, {**old, "by": "payments"})
    assert by_payments["role"] == "system"
    current = {**old, "role": "clerk", "why": None}
    assert stored_line(WORKFLOW, current) is current
