from services.common.runtime import serve
from services.notifier.app import build
from services.notifier.settings import NotifierSettings

settings = NotifierSettings()
serve(build(settings), settings)
