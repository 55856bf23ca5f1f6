"""The applicant's input: the permit's key, the phone and the reason, normalised or refused
naming each bad field; and the lookup's one answer for a mismatch. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contracts.phones import InvalidPhone, jordan_mobile
from services.common.errors import FieldError, RuleBroken, Unknown


def no_match() -> Unknown:
    """The lookup's one answer for any mismatch: it never says which of the three was wrong."""
    return Unknown(
        "No permit matches this contractor number, permit number and permit year together.",
        "لا يوجد تصريح مطابق لرقم المقاول ورقم التصريح وسنة التصريح المدخلة.",
    )


# ---- the applicant's input ------------------------------------------------------------------

_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def normalise_number(raw: str) -> str | None:
    """A contractor or permit number in its stored form: ASCII letters, digits, `-` and `/`,
    capitals, 1 to 30 characters (Arabic-Indic digits accepted, spaces dropped)."""
    value = "".join(raw.translate(_ARABIC_DIGITS).split()).upper()
    if not 1 <= len(value) <= 30 or not value.isascii():
        return None
    if not all(char.isalnum() or char in "-/" for char in value):
        return None
    return value


def normalise_phone(raw: str) -> str | None:
    try:
        return jordan_mobile(raw)
    except InvalidPhone:
        return None


@dataclass(frozen=True)
class PermitKey:
    """What the applicant types to find the permit."""

    contractor_number: str
    permit_number: str
    permit_year: int

    @property
    def permit_id(self) -> str:
        return permit_id(self.permit_number, self.permit_year)


def permit_id(number: str, year: int) -> str:
    return f"{number}|{year}"


MIN_YEAR, MAX_YEAR = 1950, 2200


def check_key(contractor_number: str, permit_number: str, permit_year: int) -> PermitKey:
    errors: list[FieldError] = []
    contractor = normalise_number(contractor_number)
    if contractor is None:
        errors.append(_number_error("contractor_number"))
    permit = normalise_number(permit_number)
    if permit is None:
        errors.append(_number_error("permit_number"))
    if not MIN_YEAR <= permit_year <= MAX_YEAR:
        errors.append(
            FieldError(
                "permit_year",
                f"The permit year is a year between {MIN_YEAR} and {MAX_YEAR}",
                f"سنة التصريح سنة بين {MIN_YEAR} و{MAX_YEAR}",
                "year",
            )
        )
    raise_if(errors)
    assert contractor is not None and permit is not None
    return PermitKey(contractor, permit, permit_year)


def _number_error(field: str) -> FieldError:
    return FieldError(
        field,
        "Use letters, digits, '-' or '/', up to 30 characters",
        "استخدم أحرفاً لاتينية وأرقاماً و'-' أو '/' بحد أقصى 30 خانة",
        "registry_number",
    )


def check_phone(raw: str, field: str = "phone") -> str:
    phone = normalise_phone(raw)
    if phone is None:
        raise_if(
            [
                FieldError(
                    field,
                    "Give a Jordanian mobile number, e.g. 0791234567",
                    "أدخل رقم هاتف خلوي أردني، مثل 0791234567",
                    "jordan_mobile",
                )
            ]
        )
    assert phone is not None
    return phone


def check_reason(raw: str) -> str:
    reason = " ".join(raw.split())
    if not 3 <= len(reason) <= 500:
        raise_if(
            [
                FieldError(
                    "reason",
                    "Give the renewal reason, 3 to 500 characters",
                    "أدخل سبب التجديد من 3 إلى 500 حرف",
                    "reason",
                )
            ]
        )
    return reason


def raise_if(errors: Sequence[FieldError]) -> None:
    if errors:
        raise RuleBroken(
            f"{len(errors)} field(s) are invalid; see errors.",
            f"عدد الحقول غير الصالحة: {len(errors)}",
            errors,
        )
