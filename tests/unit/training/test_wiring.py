"""The training service's wiring: the README is current, the app builds with its routes, the
consumers handle exactly the payments events, and the roles come from the workflow table."""

from __future__ import annotations

from services.training import consumers, readme
from services.training.app import build
from services.training.domain import REVIEWER, SUPERVISOR, Action, roles_for


def test_the_readme_workflow_section_is_current() -> None:
    current = readme.README.read_text(encoding="utf-8")

    assert readme.render(current) == current, "run python -m services.training.readme"
    assert "stateDiagram-v2" in current


def test_the_app_builds_with_its_routes() -> None:
    app = build()
    paths = {path for path in app.openapi()["paths"]}

    assert {
        "/v1/catalogue",
        "/v1/requests",
        "/v1/requests/{number}",
        "/v1/requests/{number}/attachment",
        "/v1/requests/{number}/approve",
        "/v1/requests/{number}/reject",
        "/v1/requests/{number}/attachment-error",
        "/v1/requests/{number}/attendance",
        "/v1/requests/{number}/postpone",
        "/v1/requests/{number}/approval-letter",
        "/v1/requests/{number}/completion-letter",
        "/v1/staff/requests",
    } <= paths


def test_the_consumers_take_the_bill_and_refund_outcomes() -> None:
    assert set(consumers.KEYS) == {
        "payments.bill.issued.v1",
        "payments.bill.paid.v1",
        "payments.bill.expired.v1",
        "payments.bill.cancelled.v1",
        "payments.refund.approved.v1",
        "payments.refund.rejected.v1",
    }


def test_staff_roles_come_from_the_workflow() -> None:
    assert roles_for(Action.APPROVE) == roles_for(Action.REJECT) == (REVIEWER,)
    assert roles_for(Action.FLAG_ATTACHMENTS) == (REVIEWER,)
    assert roles_for(Action.RECORD_ATTENDANCE) == (SUPERVISOR,)
