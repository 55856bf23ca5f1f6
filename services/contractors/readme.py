"""The README's workflow section, generated from the workflow tables in `domain.py`.

.venv/bin/python -m services.contractors.readme           rewrite it
.venv/bin/python -m services.contractors.readme --check   exit 1 if the README is out of date
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from services.contractors.domain import state_diagram, states_table, transitions_table

README = Path(__file__).resolve().with_name("README.md")
BEGIN = "<!-- BEGIN GENERATED: workflow (python -m services.contractors.readme) -->"
END = "<!-- END GENERATED: workflow -->"


def workflow_section() -> str:
    return "\n".join(
        ["```mermaid", state_diagram(), "```", "", transitions_table(), "", states_table()]
    )


def render(text: str) -> str:
    start, stop = text.find(BEGIN), text.find(END)
    if start < 0 or stop < start:
        raise ValueError(f"README.md lacks the markers {BEGIN!r} ... {END!r}")
    return f"{text[: start + len(BEGIN)]}\n{workflow_section()}\n{text[stop:]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.contractors.readme",
        description="Rewrite the contractors README's workflow section from the workflow table.",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    expected = render(current)
    if args.check:
        if current != expected:
            print(f"{README} is out of date: run python -m services.contractors.readme")
            return 1
        return 0
    if current != expected:
        README.write_text(expected, encoding="utf-8")
        print(f"wrote {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
