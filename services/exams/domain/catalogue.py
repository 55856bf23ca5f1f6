"""The exam catalogue as the domain sees it: the centres, the subjects (the seed sets the fee by
subject) and the exams on offer, checked for consistency.

The catalogue is data a municipality replaces: `services/exams/catalogue.py` reads it (at
start-up) and hands it in; nothing here reads a file.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from contracts import LocalizedText
from contracts.exams import ExamCentre, ExamDetails
from services.common.workflow import StoredRecord
from services.exams.domain.workflow import ExamType


class Centre(StoredRecord):
    code: str = Field(min_length=1)
    name: LocalizedText
    working_hours: LocalizedText

    def contract(self) -> ExamCentre:
        return ExamCentre(name=self.name, working_hours=self.working_hours)


class Subject(StoredRecord):
    """An exam subject: the seed sets the fee by subject."""

    code: str = Field(min_length=1)
    name: LocalizedText
    fee_fils: int = Field(gt=0)


class CatalogueExam(StoredRecord):
    code: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    type: ExamType
    name: LocalizedText
    subject: str
    centre: str
    granting_body: LocalizedText | None = None
    min_candidates: int | None = Field(default=None, ge=1)
    seats: int | None = Field(default=None, ge=1)
    is_offered: bool = True

    @model_validator(mode="after")
    def _official_needs_a_session(self) -> CatalogueExam:
        if self.type is ExamType.OFFICIAL:
            if self.granting_body is None or self.min_candidates is None or self.seats is None:
                raise ValueError(
                    f"official exam {self.code} needs granting_body, min_candidates and seats"
                )
            if self.seats < self.min_candidates:
                raise ValueError(f"exam {self.code}: seats must be at least min_candidates")
        elif self.min_candidates is not None or self.seats is not None:
            raise ValueError(f"trial exam {self.code} has no session: no min_candidates or seats")
        return self


class Catalogue(StoredRecord):
    """The exams the municipality offers, their subjects (and fees) and centres, as data."""

    centres: tuple[Centre, ...] = Field(min_length=1)
    subjects: tuple[Subject, ...] = Field(min_length=1)
    exams: tuple[CatalogueExam, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        for kind, codes in (
            ("centre", [c.code for c in self.centres]),
            ("subject", [s.code for s in self.subjects]),
            ("exam", [e.code for e in self.exams]),
        ):
            if len(codes) != len(set(codes)):
                raise ValueError(f"two {kind}s share a code")
        centres = {c.code for c in self.centres}
        subjects = {s.code for s in self.subjects}
        for exam in self.exams:
            if exam.subject not in subjects:
                raise ValueError(f"exam {exam.code}: no subject {exam.subject!r}")
            if exam.centre not in centres:
                raise ValueError(f"exam {exam.code}: no centre {exam.centre!r}")
        return self

    def exam(self, code: str) -> CatalogueExam | None:
        return next((exam for exam in self.exams if exam.code == code), None)

    def subject_of(self, exam: CatalogueExam) -> Subject:
        return next(subject for subject in self.subjects if subject.code == exam.subject)

    def centre_of(self, exam: CatalogueExam) -> Centre:
        return next(centre for centre in self.centres if centre.code == exam.centre)

    def fee_of(self, exam: CatalogueExam) -> int:
        return self.subject_of(exam).fee_fils

    def details(self, exam: CatalogueExam) -> ExamDetails:
        return ExamDetails(
            code=exam.code,
            type=exam.type.value,
            name=exam.name,
            subject=self.subject_of(exam).name,
            granting_body=exam.granting_body,
        )

    def offered(self) -> list[CatalogueExam]:
        return [exam for exam in self.exams if exam.is_offered]
