"""The service's reference data as the rules use it: the fee schedule, the camps and the
authorities whose approval the committee may require. Pure: the files are read by `settings.py`
(`load_reference`) at start-up and passed in.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts import LocalizedText

CIVIL_DEFENCE = "civil_defence"
CODE = r"^[a-z][a-z0-9_]{1,39}$"


class Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Profession(Entry):
    """One line of the fee schedule: a base fee covering `included_m2`, then a rate per m²."""

    code: str = Field(pattern=CODE)
    name: LocalizedText
    base_fils: int = Field(ge=0)
    included_m2: int = Field(ge=0)
    per_m2_fils: int = Field(ge=0)
    max_area_m2: int = Field(ge=1)

    def fee_fils(self, area_m2: float) -> int:
        """The fee for `area_m2`: a part of a square metre counts as a whole one."""
        billed = math.ceil(area_m2 - 1e-9)
        return self.base_fils + max(0, billed - self.included_m2) * self.per_m2_fils


class Camp(Entry):
    code: str = Field(pattern=CODE)
    name: LocalizedText


class Authority(Entry):
    code: str = Field(pattern=CODE)
    name: LocalizedText


class FeeSchedule(Entry):
    note: str = ""
    professions: tuple[Profession, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> FeeSchedule:
        codes = [p.code for p in self.professions]
        if len(codes) != len(set(codes)):
            raise ValueError("profession codes must be unique")
        return self

    def profession(self, code: str) -> Profession | None:
        return next((p for p in self.professions if p.code == code), None)


class Camps(Entry):
    note: str = ""
    camps: tuple[Camp, ...] = Field(min_length=1)

    def camp(self, code: str) -> Camp | None:
        return next((c for c in self.camps if c.code == code), None)


class Authorities(Entry):
    note: str = ""
    authorities: tuple[Authority, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _has_civil_defence(self) -> Authorities:
        if not any(a.code == CIVIL_DEFENCE for a in self.authorities):
            raise ValueError("the authorities must include civil_defence (seed 000, step 7)")
        return self

    def authority(self, code: str) -> Authority | None:
        return next((a for a in self.authorities if a.code == code), None)


class ReferenceData(BaseModel):
    model_config = ConfigDict(frozen=True)

    fees: FeeSchedule
    camps: Camps
    authorities: Authorities
