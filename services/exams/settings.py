"""The exams service's configuration: the shared settings plus its own (`EXAMS_*`), each listed
in the README's "Configuration" table."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class ExamsSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "exams"
    # The catalogue the municipality publishes; the shipped sample when unset.
    exams_catalogue_file: Path | None = None
    # How long an applicant has to pay the fee, in working days after confirming.
    exams_payment_working_days: int = Field(default=3, ge=1, le=30)
    # A session waiting for a date counts as "nearing" its SLA this many hours before it.
    exams_sla_nearing_hours: float = Field(default=24.0, gt=0)
