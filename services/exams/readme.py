"""The README's workflow section, generated from the workflow tables in `domain/workflow.py`.

    .venv/bin/python -m services.exams.readme           rewrite it
    .venv/bin/python -m services.exams.readme --check   exit 1 if the README is out of date

The state diagrams, the transition tables (who may take each step, what starts it) and the state
tables (labels, next steps, SLA) are written once, as data, and only derived here; a unit test
fails while the README differs from what the tables produce.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from services.common.readme import readme_main, replace_section
from services.common.workflow import (
    final_states,
    readme_section,
    state_diagram,
    states_table,
    transitions_table,
)
from services.exams.domain import (
    REQUEST_STATES,
    REQUEST_WORKFLOW,
    SESSION_STATES,
    SESSION_WORKFLOW,
)

README = Path(__file__).resolve().with_name("README.md")
BEGIN = "<!-- BEGIN GENERATED: workflows (python -m services.exams.readme) -->"
END = "<!-- END GENERATED: workflows -->"


def workflows_section() -> str:
    request = readme_section(
        state_diagram(REQUEST_WORKFLOW, final_states(REQUEST_STATES)),
        transitions_table(REQUEST_WORKFLOW),
        states_table(REQUEST_STATES),
    )
    session = readme_section(
        state_diagram(SESSION_WORKFLOW, final_states(SESSION_STATES)),
        transitions_table(SESSION_WORKFLOW),
        states_table(SESSION_STATES),
    )
    return f"### The request\n\n{request}\n\n### The official exam session\n\n{session}"


def render(text: str) -> str:
    return replace_section(text, BEGIN, END, workflows_section())


def main(argv: Sequence[str] | None = None) -> int:
    return readme_main(
        "python -m services.exams.readme",
        README,
        render,
        "Rewrite the exams README's workflow section from the workflow tables.",
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
