"""`python -m services.courses`: run the courses service (configured by environment)."""

from services.common.runtime import serve
from services.courses.app import build
from services.courses.settings import CoursesSettings

settings = CoursesSettings()
serve(build(settings), settings)
