"""The input rules of a new request and of a fee quote, against the reference data.

Each check reports every bad field it finds in one `RuleBroken` (a 422 naming them all), not
the first one only. The shape of each field (lengths, patterns, a Jordanian mobile number) is
checked before, by the API's schema; these are the rules that need the reference data or several
fields at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contracts import Applicant
from services.common.errors import FieldError, RuleBroken
from services.licensing.domain.reference import Profession, ReferenceData
from services.licensing.domain.request import Tenure

ApplicantKind = Literal["individual", "business"]
IdType = Literal["national", "residence"]


@dataclass(frozen=True)
class Establishment:
    name: str
    number: str


@dataclass(frozen=True)
class Application:
    """What the applicant filled in, already well-formed field by field."""

    applicant_kind: ApplicantKind
    name: str
    phone: str
    lang: Literal["ar", "en"]
    id_type: IdType
    id_number: str
    business: Establishment | None
    camp: str
    profession: str
    area_m2: float
    trade_name: str
    address: str
    tenure: Tenure


def refused(errors: list[FieldError]) -> RuleBroken:
    """One refusal naming every bad field: the first one's message, or how many there are."""
    if len(errors) == 1:
        return RuleBroken(errors[0].message, errors[0].message_ar, errors)
    fields = ", ".join(error.field for error in errors)
    return RuleBroken(
        f"{len(errors)} fields are not valid: {fields}.",
        f"عدد الحقول غير الصحيحة: {len(errors)} ({fields}).",
        errors,
    )


def _area_errors(profession: Profession, area_m2: float, location: str) -> list[FieldError]:
    if area_m2 <= profession.max_area_m2:
        return []
    return [
        FieldError(
            "area_m2",
            f"The area exceeds {profession.max_area_m2} m² for this profession.",
            f"المساحة تتجاوز {profession.max_area_m2} م² لهذه المهنة.",
            location=location,
        )
    ]


def _unknown_profession(location: str) -> FieldError:
    return FieldError(
        "profession",
        "Unknown profession: choose one from /v1/professions.",
        "مهنة غير معروفة.",
        location=location,
    )


def quote(reference: ReferenceData, profession_code: str, area_m2: float) -> tuple[Profession, int]:
    """The profession and its fee for `area_m2`, as the committee's approval will bill it."""
    profession = reference.fees.profession(profession_code)
    if profession is None:
        raise refused([_unknown_profession("query")])
    if errors := _area_errors(profession, area_m2, "query"):
        raise refused(errors)
    return profession, profession.fee_fils(area_m2)


def new_request_fields(application: Application, reference: ReferenceData) -> dict[str, object]:
    """The fields of a new request (`moves.create`), or one refusal naming every bad field."""
    errors: list[FieldError] = []
    camp = reference.camps.camp(application.camp)
    if camp is None:
        errors.append(
            FieldError("camp", "Unknown camp: choose one from /v1/camps.", "مخيم غير معروف.")
        )
    profession = reference.fees.profession(application.profession)
    if profession is None:
        errors.append(_unknown_profession("body"))
    else:
        errors += _area_errors(profession, application.area_m2, "body")
    if application.applicant_kind == "business" and application.business is None:
        errors.append(
            FieldError(
                "business",
                "A business gives its establishment's details.",
                "يرجى إدخال بيانات المنشأة.",
            )
        )
    if application.applicant_kind == "individual" and application.business is not None:
        errors.append(
            FieldError(
                "business",
                "An individual gives no establishment details.",
                "لا تُدخل بيانات منشأة لطلب فردي.",
            )
        )
    if application.id_type == "national" and not (
        len(application.id_number) == 10 and application.id_number.isdigit()
    ):
        errors.append(
            FieldError(
                "applicant.id_number",
                "A national number has 10 digits.",
                "الرقم الوطني من 10 خانات.",
            )
        )
    if errors or camp is None or profession is None:
        raise refused(errors)
    business = application.business
    return {
        "applicant": Applicant(
            name=application.name,
            phone=application.phone,
            lang=application.lang,
            national_id=application.id_number,
        ),
        "applicant_kind": application.applicant_kind,
        "id_type": application.id_type,
        "business": None
        if business is None
        else {"establishment_name": business.name, "establishment_number": business.number},
        "camp_code": camp.code,
        "camp": camp.name,
        "profession_code": profession.code,
        "profession": profession.name,
        "area_m2": round(application.area_m2, 2),
        "fee_fils": profession.fee_fils(application.area_m2),
        "trade_name": application.trade_name,
        "address": application.address,
        "tenure": application.tenure,
    }
