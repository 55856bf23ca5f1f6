"""`python -m services.licensing`: run the licensing service (configured by environment)."""

from services.common.runtime import serve
from services.licensing.app import build
from services.licensing.settings import LicensingSettings

settings = LicensingSettings()
serve(build(settings), settings)
