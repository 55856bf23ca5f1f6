"""The README's workflow section, generated from the workflow tables in `domain.py`.

.venv/bin/python -m services.contractors.readme           rewrite it
.venv/bin/python -m services.contractors.readme --check   exit 1 if the README is out of date
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from services.common.readme import readme_main, replace_section
from services.common.workflow import readme_section
from services.contractors.domain import state_diagram, states_table, transitions_table

README = Path(__file__).resolve().with_name("README.md")
BEGIN = "<!-- BEGIN GENERATED: workflow (python -m services.contractors.readme) -->"
END = "<!-- END GENERATED: workflow -->"


def workflow_section() -> str:
    return readme_section(state_diagram(), transitions_table(), states_table())


def render(text: str) -> str:
    return replace_section(text, BEGIN, END, workflow_section())


def main(argv: Sequence[str] | None = None) -> int:
    return readme_main(
        "python -m services.contractors.readme",
        README,
        render,
        "Rewrite the contractors README's workflow section from the workflow table.",
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
