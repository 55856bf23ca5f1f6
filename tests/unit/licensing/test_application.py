"""The rules of a new request and of a fee quote, against the shipped reference data: every bad
field is named in one refusal, in Arabic and English, and a good application gives the request's
fields with the fee fixed from the schedule."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.licensing import domain
from services.licensing.domain import Application, Establishment, RuleBroken
from services.licensing.settings import load_reference

REFERENCE = load_reference()
GOOD = Application(
    applicant_kind="individual",
    name="محمود خليل",
    phone="+962791234567",
    lang="ar",
    id_type="national",
    id_number="9861012345",
    business=None,
    camp="wehdat",
    profession="grocery",
    area_m2=35.5,
    trade_name="بقالة الأمل",
    address="شارع السوق",
    tenure="rented",
)


def fields_at_fault(application: Application) -> list[str]:
    with pytest.raises(RuleBroken) as refused:
        domain.new_request_fields(application, REFERENCE)
    assert refused.value.detail and refused.value.detail_ar
    for error in refused.value.errors:
        assert error.message and error.message_ar
    return sorted(error.field for error in refused.value.errors)


def test_a_good_application_gives_the_fields_with_the_fee_from_the_schedule() -> None:
    fields = domain.new_request_fields(GOOD, REFERENCE)

    assert fields["camp_code"] == "wehdat" and fields["profession_code"] == "grocery"
    assert fields["fee_fils"] == 33_000 and fields["business"] is None


def test_every_bad_field_is_named_at_once() -> None:
    bad = replace(
        GOOD, camp="zaatari", profession="astronaut", applicant_kind="business", id_number="123456"
    )

    assert fields_at_fault(bad) == ["applicant.id_number", "business", "camp", "profession"]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"camp": "zaatari"}, ["camp"]),
        ({"area_m2": 301}, ["area_m2"]),  # over the grocery's maximum
        ({"camp": "zaatari", "area_m2": 301}, ["area_m2", "camp"]),
        ({"applicant_kind": "business"}, ["business"]),
        ({"business": Establishment("مؤسسة الأمل", "200012345")}, ["business"]),
        ({"id_number": "98610123AB"}, ["applicant.id_number"]),
    ],
)
def test_each_rule_names_its_field(changes: dict[str, object], fields: list[str]) -> None:
    assert fields_at_fault(replace(GOOD, **changes)) == fields  # type: ignore[arg-type]


def test_a_residence_number_is_not_a_national_one_and_a_business_gives_its_establishment() -> None:
    resident = replace(GOOD, id_type="residence", id_number="AB1234")
    business = replace(
        GOOD, applicant_kind="business", business=Establishment("مؤسسة الأمل", "200012345")
    )

    assert domain.new_request_fields(resident, REFERENCE)["id_type"] == "residence"
    assert domain.new_request_fields(business, REFERENCE)["business"] == {
        "establishment_name": "مؤسسة الأمل",
        "establishment_number": "200012345",
    }


def test_a_quote_names_the_profession_or_the_area_in_the_query() -> None:
    profession, fee = domain.quote(REFERENCE, "grocery", 35.5)
    assert profession.code == "grocery" and fee == 33_000
    for code, area, field in (("x", 10, "profession"), ("grocery", 1000, "area_m2")):
        with pytest.raises(RuleBroken) as refused:
            domain.quote(REFERENCE, code, area)
        assert [(e.field, e.location) for e in refused.value.errors] == [(field, "query")]


def test_unknown_authorities_are_named_together() -> None:
    with pytest.raises(RuleBroken) as refused:
        domain.authorities_named(["civil_defence", "magic", "x"], REFERENCE.authorities)
    assert [e.message for e in refused.value.errors] == [
        "unknown authority magic",
        "unknown authority x",
    ]
    found = domain.authorities_named(["health", "civil_defence"], REFERENCE.authorities)
    assert [a.code for a in found] == ["health", "civil_defence"]
