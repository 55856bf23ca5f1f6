"""Parsing an import file: every bad row named by line and field, nothing half-parsed."""

from __future__ import annotations

import json
from datetime import date

import pytest

from services.contractors import registry
from services.contractors.domain import PermitStatus

HEADER = (
    "contractor_number,name_ar,name_en,classification,category,phone,permit_number,"
    "permit_year,valid_from,valid_to,permit_status\n"
)
ROW = "C-1,مؤسسة أ,Est. A,Buildings,3,0791234567,P-1,2026,2026-01-01,2026-12-31,\n"


def test_a_good_csv_gives_contractors_and_permits() -> None:
    parsed = registry.parse((HEADER + ROW + ROW.replace("P-1,2026", "P-2,2025")).encode(), "csv")
    assert parsed.errors == [] and parsed.rows == 2
    contractor = parsed.contractors["C-1"]
    assert contractor.classification == "buildings" and contractor.phone == "+962791234567"
    permit = parsed.permits["P-1|2026"]
    assert permit.valid_to == date(2026, 12, 31) and permit.status is PermitStatus.ACTIVE
    assert set(parsed.permits) == {"P-1|2026", "P-2|2025"}


def test_the_shipped_sample_parses() -> None:
    parsed = registry.parse(registry.SAMPLE_FILE.read_bytes(), "csv")
    assert parsed.errors == [] and len(parsed.permits) == 5


def test_json_rows_are_numbered_from_one() -> None:
    rows = [
        {
            "contractor_number": "C-1",
            "name_ar": "أ",
            "name_en": "A",
            "classification": "roads",
            "category": "1",
            "permit_number": "P-1",
            "permit_year": 2026,
            "valid_from": "2026-01-01",
            "valid_to": "2026-12-31",
        },
        {"contractor_number": "C-2"},
    ]
    parsed = registry.parse(json.dumps({"rows": rows}).encode(), "json")
    assert {error.line for error in parsed.errors} == {2}
    assert "name_ar" in {error.field for error in parsed.errors}


def test_every_bad_field_and_contradiction_is_reported_by_line() -> None:
    content = (
        HEADER
        + ROW
        + (
            "C-1,مؤسسة أخرى,Other,buildings,3,,P-9,2026,2026-01-01,2026-12-31,\n"
            "C-3,ج,C,roads,1,12,P-3,abc,2026-02-30,2026-01-01,gone\n" + ROW
        )
    )
    parsed = registry.parse(content.encode(), "csv")
    assert [(e.line, e.field) for e in parsed.errors] == [
        (3, "contractor_number"),
        (4, "permit_year"),
        (4, "valid_from"),
        (4, "phone"),
        (4, "permit_status"),
        (5, "permit_number"),
    ]


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"", "csv"),
        (b"a,b\n1,2\n", "csv"),
        (b"[1", "json"),
        (b'{"x": 1}', "json"),
        (b"\xff", "csv"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(content: bytes, kind: str) -> None:
    with pytest.raises(registry.BadFile):
        registry.parse(content, kind)
