"""The workflow tables drive everything: the README shows what they produce, every state is
reached, and roles are the platform's. (That the domain stays pure is
`tests/unit/test_architecture.py`'s to check.)"""

from __future__ import annotations

from services.common.workflow import final_states, roles_for, state_diagram
from services.exams import domain, readme
from services.exams.domain import (
    REQUEST_STATES,
    REQUEST_WORKFLOW,
    SESSION_STATES,
    SESSION_WORKFLOW,
    RequestAction,
    RequestStatus,
    SessionAction,
    SessionStatus,
)

KNOWN_ROLES = {domain.CITIZEN, domain.COORDINATOR, domain.SYSTEM}


def test_the_readme_shows_the_diagrams_and_tables_the_workflow_tables_produce() -> None:
    current = readme.README.read_text(encoding="utf-8")

    assert readme.render(current) == current, "run: .venv/bin/python -m services.exams.readme"
    assert state_diagram(REQUEST_WORKFLOW, final_states(REQUEST_STATES)) in current
    assert state_diagram(SESSION_WORKFLOW, final_states(SESSION_STATES)) in current


def test_every_state_is_reached_and_described_in_both_languages() -> None:
    assert {step.target for step in REQUEST_WORKFLOW} == set(RequestStatus) == set(REQUEST_STATES)
    assert {step.target for step in SESSION_WORKFLOW} == set(SessionStatus) == set(SESSION_STATES)
    for state in [*REQUEST_STATES.values(), *SESSION_STATES.values()]:
        assert state.label_en and state.label_ar
        assert (state.next_en is None) == (state.next_ar is None)


def test_final_states_are_left_only_by_the_refund_of_a_late_payment() -> None:
    final = {status for status, state in REQUEST_STATES.items() if state.is_final}
    leaving = {step.source for step in REQUEST_WORKFLOW if step.source in final}

    assert leaving == {RequestStatus.CANCELLED}
    assert all(
        step.target == RequestStatus.CANCELLED
        for step in REQUEST_WORKFLOW
        if step.source == RequestStatus.CANCELLED
    )


def test_every_action_is_in_the_table_with_known_roles() -> None:
    assert {step.action for step in REQUEST_WORKFLOW} == set(RequestAction)
    assert {step.action for step in SESSION_WORKFLOW} == set(SessionAction)
    for step in (*REQUEST_WORKFLOW, *SESSION_WORKFLOW):
        assert step.roles and set(step.roles) <= KNOWN_ROLES, step
        assert step.label_en and step.label_ar and step.trigger


def test_people_take_the_steps_the_seed_gives_them_and_events_take_the_rest() -> None:
    assert roles_for(REQUEST_WORKFLOW, RequestAction.SUBMIT) == (domain.CITIZEN,)
    assert roles_for(REQUEST_WORKFLOW, RequestAction.RECORD_RESULT) == (domain.COORDINATOR,)
    assert roles_for(SESSION_WORKFLOW, SessionAction.SCHEDULE) == (domain.COORDINATOR,)
    assert roles_for(REQUEST_WORKFLOW, RequestAction.PAY) == (domain.SYSTEM,)


def test_the_one_working_week_is_the_sla_of_waiting_for_a_date() -> None:
    assert SESSION_STATES[SessionStatus.AWAITING_DATE].sla_working_days == 5
    assert REQUEST_STATES[RequestStatus.AWAITING_SESSION].sla_working_days == 5
