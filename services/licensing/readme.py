"""The README's generated sections, from the workflow table (`domain/workflow.py`) and the fees.

    .venv/bin/python -m services.licensing.readme           rewrite them
    .venv/bin/python -m services.licensing.readme --check   exit 1 if the README is out of date

The state diagram, the transition table (who may take each step, what starts it), the state table
(labels, next steps, where the SLA clock stands) and the fee schedule are written once, as data,
and only derived here; a unit test fails while the README differs from what they produce.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from services.common.formatting import format_jod
from services.common.readme import readme_main, replace_section
from services.common.workflow import readme_section
from services.licensing.domain import state_diagram, states_table, transitions_table
from services.licensing.settings import load_reference

README = Path(__file__).resolve().with_name("README.md")
BEGIN = "<!-- BEGIN GENERATED: workflow (python -m services.licensing.readme) -->"
END = "<!-- END GENERATED: workflow -->"
FEES_BEGIN = "<!-- BEGIN GENERATED: fee schedule (python -m services.licensing.readme) -->"
FEES_END = "<!-- END GENERATED: fee schedule -->"


def workflow_section() -> str:
    return readme_section(state_diagram(), transitions_table(), states_table())


def fees_section() -> str:
    data = load_reference()
    lines = [
        "| code | profession | base fee (JOD) | covers up to | then per m² (JOD) | max area |",
        "|---|---|---|---|---|---|",
    ]
    for p in data.fees.professions:
        lines.append(
            f"| `{p.code}` | {p.name.en} / {p.name.ar} | {format_jod(p.base_fils)} | "
            f"{p.included_m2} m² | {format_jod(p.per_m2_fils)} | {p.max_area_m2} m² |"
        )
    camps = ", ".join(f"`{c.code}` ({c.name.en})" for c in data.camps.camps)
    authorities = ", ".join(f"`{a.code}` ({a.name.en})" for a in data.authorities.authorities)
    lines += ["", f"Camps: {camps}.", "", f"Authorities: {authorities}."]
    return "\n".join(lines)


def render(text: str) -> str:
    text = replace_section(text, BEGIN, END, workflow_section())
    return replace_section(text, FEES_BEGIN, FEES_END, fees_section())


def main(argv: Sequence[str] | None = None) -> int:
    return readme_main(
        "python -m services.licensing.readme",
        README,
        render,
        "Rewrite the licensing README's generated sections from the data.",
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
