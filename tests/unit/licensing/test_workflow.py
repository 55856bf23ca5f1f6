"""The workflow table drives everything: the README shows what it produces, every state is
reached and described in both languages, roles are the service's, and the domain stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

from services.licensing import domain, readme
from services.licensing.domain import REQUEST_STATES, REQUEST_WORKFLOW, RequestAction, RequestStatus

KNOWN_ROLES = {
    domain.CITIZEN,
    domain.CLERK,
    domain.INSPECTOR,
    domain.COMMITTEE,
    domain.EXTERNAL_AUTHORITY,
}


def test_the_readme_shows_what_the_tables_and_the_schedule_produce() -> None:
    current = readme.README.read_text(encoding="utf-8")

    assert readme.render(current) == current, "run: .venv/bin/python -m services.licensing.readme"
    assert domain.state_diagram() in current
    assert readme.main(["--check"]) == 0


def test_every_state_is_reached_and_described_in_both_languages() -> None:
    assert {step.target for step in REQUEST_WORKFLOW} == set(RequestStatus)
    assert {state.status for state in REQUEST_STATES} == set(RequestStatus)
    for state in REQUEST_STATES:
        assert state.label_en and state.label_ar
        assert bool(state.next_en) == bool(state.next_ar) == (state.status not in domain.FINAL)


def test_every_action_is_in_the_table_with_known_roles_and_labels() -> None:
    assert {step.action for step in REQUEST_WORKFLOW} == set(RequestAction)
    for step in REQUEST_WORKFLOW:
        assert step.roles and set(step.roles) <= KNOWN_ROLES | {domain.SYSTEM}, step
        assert step.label_en and step.label_ar and step.trigger
        # Only the payments events move a request as the system.
        assert (domain.SYSTEM in step.roles) == step.trigger.startswith("payments"), step


def test_final_states_are_never_left() -> None:
    assert not [step for step in REQUEST_WORKFLOW if step.source in domain.FINAL]


def test_the_clock_runs_only_while_the_municipality_has_the_next_move() -> None:
    phases = {state.status: state.sla for state in REQUEST_STATES}

    assert {s for s, phase in phases.items() if phase == "paused"} == {
        RequestStatus.AWAITING_DOCUMENTS,
        RequestStatus.RECTIFICATION,
        RequestStatus.AWAITING_EXTERNAL_APPROVALS,
    }
    assert phases[RequestStatus.DRAFT] == "not_started"


def test_the_domain_imports_no_io() -> None:
    imported: set[str] = set()
    for path in Path(domain.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)

    allowed = {
        "__future__", "collections.abc", "dataclasses", "datetime", "enum", "functools", "math",
        "typing", "zoneinfo", "services.common",
        "pydantic", "contracts", "contracts.licensing", "contracts.payments",
        "services.common.calendar", "services.common.errors", "services.common.workflow",
        # pure, as the platform's architecture test lists them: the licence's PDF, its date
        "services.common.documents.model", "services.common.formatting",
    }  # fmt: skip
    own = {name for name in imported if name.startswith("services.licensing.domain")}
    assert imported - own <= allowed, imported - own - allowed
