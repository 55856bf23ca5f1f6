"""The catalogue is data: the shipped sample loads and follows the rules; a broken one stops the
start with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.exams import catalogue
from services.exams.domain import ExamType


def test_the_shipped_catalogue_has_official_and_trial_exams_with_fees_per_subject() -> None:
    loaded = catalogue.load()

    official = [exam for exam in loaded.exams if exam.type is ExamType.OFFICIAL]
    trial = [exam for exam in loaded.exams if exam.type is ExamType.TRIAL]
    assert official and trial
    for exam in official:
        assert exam.granting_body is not None and exam.min_candidates and exam.seats
    icdl = loaded.exam("icdl-documents")
    assert icdl is not None and icdl.granting_body is not None
    assert icdl.granting_body.en == "ICDL Arabia"
    assert loaded.fee_of(icdl) == 25_000
    assert all(loaded.fee_of(exam) > 0 for exam in loaded.exams)


def _write(tmp_path: Path, change: dict[str, object]) -> Path:
    raw = json.loads(catalogue.DEFAULT_FILE.read_text(encoding="utf-8"))
    first = dict(raw["exams"][0])
    first.update(change)
    raw["exams"] = [first, *raw["exams"][1:]]
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"granting_body": None}, "needs granting_body"),
        ({"min_candidates": 30}, "seats must be at least"),
        ({"subject": "astrology"}, "no subject"),
        ({"centre": "nowhere"}, "no centre"),
        ({"type": "trial"}, "has no session"),
    ],
)
def test_a_broken_catalogue_stops_the_start_with_the_reason(
    tmp_path: Path, change: dict[str, object], reason: str
) -> None:
    with pytest.raises(catalogue.CatalogueError, match=reason):
        catalogue.load(_write(tmp_path, change))


def test_a_missing_catalogue_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(catalogue.CatalogueError, match=r"nothing\.json"):
        catalogue.load(tmp_path / "nothing.json")
