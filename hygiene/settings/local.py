"""A developer's machine: embedded servers unless DATABASE_URL / CELERY_BROKER_URL are set."""

from hygiene.lib.embedded import ensure_local_services

ensure_local_services()

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="local-development-key-not-for-production-use-0123456789")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
