"""The generated-README helper: the marker replace and the `--check` command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.readme import readme_main, replace_section

BEGIN = "<!-- BEGIN GENERATED: x -->"
END = "<!-- END GENERATED: x -->"


def test_the_section_between_the_markers_is_replaced_and_the_rest_kept() -> None:
    text = f"# Title\n\n{BEGIN}\nold\nlines\n{END}\n\nafter\n"
    assert (
        replace_section(text, BEGIN, END, "new\n\n") == f"# Title\n\n{BEGIN}\nnew\n{END}\n\nafter\n"
    )


def test_replacing_twice_changes_nothing() -> None:
    once = replace_section(f"{BEGIN}{END}", BEGIN, END, "body")
    assert once == f"{BEGIN}\nbody\n{END}"
    assert replace_section(once, BEGIN, END, "body") == once


@pytest.mark.parametrize("text", ["no markers", f"{END}\n{BEGIN}", f"{BEGIN} only"])
def test_missing_or_misplaced_markers_are_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="lacks the markers"):
        replace_section(text, BEGIN, END, "body")


def _render(text: str) -> str:
    return replace_section(text, BEGIN, END, "fresh")


def test_check_fails_on_a_stale_readme_and_the_rewrite_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"{BEGIN}\nstale\n{END}\n", encoding="utf-8")
    assert readme_main("python -m x.readme", readme, _render, "d", ["--check"]) == 1
    assert "out of date: run python -m x.readme" in capsys.readouterr().out
    assert "stale" in readme.read_text(encoding="utf-8")

    assert readme_main("python -m x.readme", readme, _render, "d", []) == 0
    assert readme.read_text(encoding="utf-8") == f"{BEGIN}\nfresh\n{END}\n"
    assert readme_main("python -m x.readme", readme, _render, "d", ["--check"]) == 0
    assert readme_main("python -m x.readme", readme, _render, "d", []) == 0
    assert capsys.readouterr().out.count("wrote") == 1
