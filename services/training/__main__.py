"""`python -m services.training`: run the training service (configured by environment)."""

from services.common.runtime import serve
from services.training.app import build
from services.training.settings import TrainingSettings

settings = TrainingSettings()
serve(build(settings), settings)
