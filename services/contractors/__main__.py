"""`python -m services.contractors`: run the contractors service (configured by environment)."""

from services.common.runtime import serve
from services.contractors.app import build
from services.contractors.settings import ContractorsSettings

settings = ContractorsSettings()
serve(build(settings), settings)
