"""`python -m services.payments`: run the payments service (configured by environment)."""

from services.common.runtime import serve
from services.payments.app import build
from services.payments.settings import PaymentsSettings

settings = PaymentsSettings()
serve(build(settings), settings)
