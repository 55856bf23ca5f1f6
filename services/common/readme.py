"""Generated README sections: a section between two HTML comments, rewritten from data.

A service whose README shows what its tables produce (workflow diagrams, fee schedules, the SMS
catalogue) keeps only what it renders; this module replaces the section between its markers and
gives the command line every such module has:

    # services/<name>/readme.py
    def render(text: str) -> str:
        return replace_section(text, BEGIN, END, workflow_section())

    def main(argv: Sequence[str] | None = None) -> int:
        return readme_main("python -m services.<name>.readme", README, render, "...", argv)

`python -m services.<name>.readme` rewrites the README; `--check` writes nothing and exits 1 while
the README differs from what the data produces (CI runs it; a unit test compares too).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path


def replace_section(text: str, begin: str, end: str, content: str) -> str:
    """`text` with what stands between the `begin` and `end` markers replaced by `content`.

    The markers stay, each on its own line; trailing white space of `content` is dropped.
    ValueError if a marker is missing or they are out of order."""
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"README.md lacks the markers {begin!r} ... {end!r}")
    return f"{text[: start + len(begin)]}\n{content.rstrip()}\n{text[stop:]}"


def readme_main(
    prog: str,
    readme: Path,
    render: Callable[[str], str],
    description: str,
    argv: Sequence[str] | None = None,
) -> int:
    """The command line of a README generator: rewrite `readme` as `render` makes it from its
    current text, or with `--check` exit 1 (and say what to run) if it is out of date."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    current = readme.read_text(encoding="utf-8")
    expected = render(current)
    if args.check:
        if current != expected:
            print(f"{readme} is out of date: run {prog}")
            return 1
        return 0
    if current != expected:
        readme.write_text(expected, encoding="utf-8")
        print(f"wrote {readme}")
    return 0
