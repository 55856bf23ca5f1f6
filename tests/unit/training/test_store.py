"""Reading stored requests (through the shared `workflow.stored_line`): timeline lines written
before the timeline recorded the actor's role (a `reason`, no `role`) read as `TimelineEntry`,
with the role of their step."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.workflow import stored_line
from services.training.domain import WORKFLOW

AT = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def test_an_old_line_gets_the_role_of_its_step_and_keeps_its_reason() -> None:
    old = {"at": AT, "action": "reject", "source": "under_review", "target": "rejected",
           "by": "reviewer-1", "reason": "no vacancy"}  # fmt: skip

    assert stored_line(WORKFLOW, old) == {
        "at": AT, "action": "reject", "source": "under_review", "target": "rejected",
        "by": "reviewer-1", "role": "training.reviewer", "why": "no vacancy",
    }  # fmt: skip


def test_payments_moves_are_the_systems_and_a_new_line_is_read_as_it_is() -> None:
    old = {"at": AT, "action": "pay", "source": "awaiting_payment", "target": "approved",
           "by": "payments", "reason": None}  # fmt: skip
    new = {key: value for key, value in old.items() if key != "reason"}
    new |= {"role": "system", "why": None}

    assert stored_line(WORKFLOW, old) == new
    assert stored_line(WORKFLOW, new) is new
