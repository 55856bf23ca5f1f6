"""The fee schedule, camps and authorities are data: the shipped files load, the fee is the base
plus the rate for each further (started) square metre, and a bad file stops the start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts import LocalizedText
from services.licensing.domain import Profession
from services.licensing.settings import load_reference

GROCERY = Profession(
    code="grocery",
    name=LocalizedText(ar="بقالة", en="Grocery"),
    base_fils=25_000,
    included_m2=20,
    per_m2_fils=500,
    max_area_m2=300,
)


@pytest.mark.parametrize(
    ("area", "fee"),
    [(1, 25_000), (20, 25_000), (20.01, 25_500), (21, 25_500), (35.5, 33_000), (300, 165_000)],
)
def test_the_fee_is_the_base_plus_each_started_square_metre_beyond(area: float, fee: int) -> None:
    assert GROCERY.fee_fils(area) == fee


def test_the_shipped_files_load_with_the_camps_of_amman_and_civil_defence() -> None:
    data = load_reference()

    assert data.fees.profession("grocery") is not None
    assert data.fees.profession("nothing") is None
    camps = {camp.code for camp in data.camps.camps}
    assert {"wehdat", "jabal_al_hussein", "marka", "talbiyeh"} <= camps
    assert data.authorities.authority("civil_defence") is not None
    for profession in data.fees.professions:
        assert profession.name.ar and profession.name.en
        assert profession.fee_fils(profession.max_area_m2) > 0


def write(folder: Path, name: str, content: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_schedule_with_a_repeated_profession_is_refused(tmp_path: Path) -> None:
    line = GROCERY.model_dump()
    fees = write(tmp_path, "fees.json", {"professions": [line, line]})

    with pytest.raises(ValidationError):
        load_reference(fee_schedule=fees)


def test_authorities_without_civil_defence_are_refused(tmp_path: Path) -> None:
    authorities = write(
        tmp_path,
        "authorities.json",
        {"authorities": [{"code": "health", "name": {"ar": "وزارة الصحة", "en": "Health"}}]},
    )

    with pytest.raises(ValidationError):
        load_reference(authorities=authorities)


def test_a_negative_fee_is_refused(tmp_path: Path) -> None:
    fees = write(
        tmp_path, "fees.json", {"professions": [{**GROCERY.model_dump(), "base_fils": -1}]}
    )

    with pytest.raises(ValidationError):
        load_reference(fee_schedule=fees)
