"""The workflow table drives everything: the README shows what it produces, every state is
reached and described in both languages, roles are the platform's, and the domain stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

from services.contractors import domain, readme
from services.contractors.domain import STATES, WORKFLOW, Action, Status

DOMAIN = Path(domain.__file__).parent
DIR = DOMAIN.parent
KNOWN_ROLES = {domain.CITIZEN, domain.REVIEWER, domain.SYSTEM}


def test_the_readme_shows_what_the_workflow_table_produces() -> None:
    current = readme.README.read_text(encoding="utf-8")
    assert readme.render(current) == current, "run: .venv/bin/python -m services.contractors.readme"
    assert domain.state_diagram() in current


def test_every_state_is_reached_and_described_in_both_languages() -> None:
    assert {step.target for step in WORKFLOW} == set(Status) == set(STATES)
    for state in STATES.values():
        assert state.label_en and state.label_ar
        assert (state.next_en is None) == (state.next_ar is None)
        assert state.is_open != state.is_final


def test_every_action_has_known_roles_and_labels() -> None:
    assert {step.action for step in WORKFLOW} == set(Action)
    for step in WORKFLOW:
        assert set(step.roles) <= KNOWN_ROLES and step.label_ar and step.label_en
    assert domain.roles_for(Action.APPROVE) == (domain.REVIEWER,)
    assert domain.roles_for(Action.SUBMIT) == (domain.CITIZEN,)


def test_the_domain_and_the_code_rules_do_no_io() -> None:
    for path in [*sorted(DOMAIN.glob("*.py")), DIR / "otp.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (node.names if isinstance(node, ast.Import) else [node])  # type: ignore[attr-defined]
            if getattr(alias, "name", None)
        }
        modules = {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        }
        assert not (
            {"pymongo", "aio_pika", "faststream", "httpx", "fastapi"} & (imported | modules)
        )
