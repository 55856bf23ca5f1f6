"""`python -m services.exams`: run the exams service (configured by environment)."""

from services.common.runtime import serve
from services.exams.app import build
from services.exams.settings import ExamsSettings

settings = ExamsSettings()
serve(build(settings), settings)
