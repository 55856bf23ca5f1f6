"""The courses service's configuration: the shared settings plus its own (`COURSES_*`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class CoursesSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "courses"
    # Seed 002, note 2: a course whose start comes without its minimum is moved by this many
    # days (same weekday and hour) unless staff rescheduled it first.
    courses_postpone_days: int = Field(default=14, ge=1, le=365)
    # Proof of prior knowledge: the largest upload accepted, in bytes.
    courses_max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=15 * 1024 * 1024)
