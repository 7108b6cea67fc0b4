"""A developer's machine: embedded servers unless DATABASE_URL / CELERY_BROKER_URL are set."""

from pathlib import Path

from hygiene.lib.embedded import DATA_DIR, ensure_local_services

ensure_local_services()

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="local-development-key-not-for-production-use-0123456789")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# `make run` collects and compresses the static files before it starts the server and sets this, so
# pages load them as production does: gzip, content-hashed names, cached by browsers for a year.
if env.bool("HYGIENE_STATIC_COLLECTED", default=False):
    STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "static")))
    STORAGES["staticfiles"] = {"BACKEND": "hygiene.lib.staticstorage.CollectedStaticFilesStorage"}
    WHITENOISE_AUTOREFRESH = False
    WHITENOISE_USE_FINDERS = False
