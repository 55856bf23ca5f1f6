from services.common.runtime import serve
from services.notifier.app import NotifierSettings, build

settings = NotifierSettings()
serve(build(settings), settings)
