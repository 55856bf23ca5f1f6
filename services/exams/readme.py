"""The README's workflow section, generated from the workflow tables in `domain.py`.

    .venv/bin/python -m services.exams.readme           rewrite it
    .venv/bin/python -m services.exams.readme --check   exit 1 if the README is out of date

The state diagrams, the transition tables (who may take each step, what starts it) and the state
tables (labels, next steps, SLA) are written once, as data, and only derived here; a unit test
fails while the README differs from what the tables produce.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from services.exams.domain import (
    REQUEST_STATES,
    REQUEST_WORKFLOW,
    SESSION_STATES,
    SESSION_WORKFLOW,
    state_diagram,
    states_table,
    transitions_table,
)

README = Path(__file__).resolve().with_name("README.md")
BEGIN = "<!-- BEGIN GENERATED: workflows (python -m services.exams.readme) -->"
END = "<!-- END GENERATED: workflows -->"


def workflows_section() -> str:
    return "\n".join(
        [
            "### The request",
            "",
            "```mermaid",
            state_diagram(REQUEST_WORKFLOW, REQUEST_STATES),
            "```",
            "",
            transitions_table(REQUEST_WORKFLOW),
            "",
            states_table(REQUEST_STATES),
            "",
            "### The official exam session",
            "",
            "```mermaid",
            state_diagram(SESSION_WORKFLOW, SESSION_STATES),
            "```",
            "",
            transitions_table(SESSION_WORKFLOW),
            "",
            states_table(SESSION_STATES),
        ]
    )


def render(text: str) -> str:
    start, stop = text.find(BEGIN), text.find(END)
    if start < 0 or stop < start:
        raise ValueError(f"README.md lacks the markers {BEGIN!r} ... {END!r}")
    return f"{text[: start + len(BEGIN)]}\n{workflows_section()}\n{text[stop:]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.exams.readme",
        description="Rewrite the exams README's workflow section from the workflow tables.",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    expected = render(current)
    if args.check:
        if current != expected:
            print(f"{README} is out of date: run python -m services.exams.readme")
            return 1
        return 0
    if current != expected:
        README.write_text(expected, encoding="utf-8")
        print(f"wrote {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
