"""The training service's configuration: the shared settings plus its own (`TRAINING_*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class TrainingSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "training"
    # The departments and GIS courses (with hours and fees); the packaged list by default.
    training_catalogue_file: Path | None = None
    # The largest attachment accepted, in bytes.
    training_max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=15 * 1024 * 1024)
