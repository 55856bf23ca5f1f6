"""`python -m services.exams`: run the exams service (configured by environment)."""

from services.common.runtime import serve
from services.exams.app import ExamsSettings, build

settings = ExamsSettings()
serve(build(settings), settings)
