from services.common.runtime import serve
from tests.testsvc.app import TestSettings, build

settings = TestSettings()
serve(build(settings), settings)
