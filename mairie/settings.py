"""One settings module; every knob comes from the environment (or an optional `.env` file).

Without any variable set, Mairie runs in its *embedded* mode: SQLite under `var/`, Celery tasks
run eagerly in-process, an in-memory channel layer, a local-memory cache, files on the local disk
and e-mails printed on the console. Production sets `MAIRIE_PRODUCTION=1` and at least
`SECRET_KEY`, `DATABASE_URL`, `REDIS_URL` and `ALLOWED_HOSTS` (see docs/operator-guide.md).
"""

from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("MAIRIE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

PRODUCTION = env.bool("MAIRIE_PRODUCTION", default=False)
DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("MAIRIE_TESTING", default=False)

_DEV_SECRET = "insecure-embedded-demo-key-never-use-in-production-0123456789abcdef"
SECRET_KEY = env.str("SECRET_KEY", default="")
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET):
    # Sessions, password-reset links and signed URLs all rest on this key: refuse to start.
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters when "
        "MAIRIE_PRODUCTION=1 (it is " + ("missing" if not SECRET_KEY else "too weak") + "). "
        "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'")
if not SECRET_KEY:
    SECRET_KEY = _DEV_SECRET

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=[] if PRODUCTION else ["localhost", ".localhost", "127.0.0.1", "[::1]", "testserver"],
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rules.apps.AutodiscoverRulesConfig",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files, no CDN
    "django_htmx",
    "csp",
    # Before allauth so that its templates (rendered in our shell, in French) win.
    "mairie.core.accounts",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    # Mairie kernel
    "mairie.core",
    "mairie.core.tenancy",
    "mairie.core.users",
    "mairie.core.organisation",
    "mairie.core.audit",
    "mairie.core.notifications",
    "mairie.core.files",
    "mairie.core.search",
    "mairie.core.privacy",
    "mairie.core.web",
    "mairie.api",
    "mairie.procedures",
    "mairie.crm",
    "mairie.booking",
    "mairie.appointments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "mairie.core.tenancy.middleware.OrganisationMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mairie.core.tenancy.middleware.OrganisationUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mairie.core.web.middleware.PermissionsPolicyMiddleware",
    "mairie.core.web.middleware.IdentityProviderFormActionMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "mairie.core.accounts.middleware.AgentMFAMiddleware",
]

ROOT_URLCONF = "mairie.urls"
WSGI_APPLICATION = "mairie.wsgi.application"
ASGI_APPLICATION = "mairie.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "mairie.core.web.context_processors.shell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'mairie.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the demo's web server and eager tasks share the file safely.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    # Under ASGI each request runs in a thread of its own, so "one connection per thread"
    # means one per request in flight: a rush goes past PostgreSQL's max_connections. Each
    # process therefore shares a pool of DB_POOL_MAX connections, and a request waits up to
    # DB_POOL_TIMEOUT seconds for one instead of failing (decision 0494). DB_POOL_MAX=0 goes
    # back to persistent per-thread connections (DB_CONN_MAX_AGE), e.g. behind PgBouncer.
    _pool_max = env.int("DB_POOL_MAX", default=20)
    if _pool_max > 0:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(2, _pool_max), "max_size": _pool_max,
            "timeout": env.float("DB_POOL_TIMEOUT", default=30.0)}
    else:
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# At most WEB_MAX_IN_FLIGHT HTTP requests run in Django at once in a process, the others wait
# in the event loop up to WEB_QUEUE_TIMEOUT seconds, then get a « service très demandé » page
# (mairie.core.web.inflight, decision 0500). The default is the pool's size: no request then
# waits for a connection.
WEB_MAX_IN_FLIGHT = env.int(
    "WEB_MAX_IN_FLIGHT",
    default=DATABASES["default"].get("OPTIONS", {}).get("pool", {}).get("max_size", 20))
WEB_QUEUE_TIMEOUT = env.float("WEB_QUEUE_TIMEOUT", default=60.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"

# --- Redis: cache, channel layer, Celery broker ------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mairie"),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env.str("CHANNELS_PREFIX", default="mairie"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # A real broker without Redis, for one machine: messages are files in a folder shared by
    # the web processes and `python -m mairie worker` (the test suite's real worker uses it).
    _broker_folder = Path(env.str("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "broker")))
    for _sub in ("queue", "control"):
        (_broker_folder / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_folder / "queue"),
        "data_folder_out": str(_broker_folder / "queue"),
        "control_folder": str(_broker_folder / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
# Eager (tasks run in-process, at once) in the embedded mode and in tests; the real-worker
# tests switch it off for themselves.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER",
                                    default=TESTING or CELERY_BROKER_URL == "memory://")
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME",
                                        default=str(VAR_DIR / "celerybeat-schedule"))
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Europe/Paris"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "notification-daily-digest": {
        "task": "mairie.core.notifications.tasks.send_daily_digests",
        "schedule": 60 * 60,  # hourly; each user gets their digest once a day at most
    },
    # Issue 4, automation: deadline reminders, escalation, silence vaut accord/refus.
    "procedures-deadlines": {
        "task": "mairie.procedures.tasks_automation.run_deadlines",
        "schedule": 60 * 60,
    },
    # Batch work: restart the batches whose worker died (only their pending dossiers).
    "procedures-resume-stalled-batches": {
        "task": "mairie.procedures.tasks_batch.resume_stalled_batches",
        "schedule": 5 * 60,
    },
    # Exports: write again the exports whose worker died (from the start; nothing was stored).
    "procedures-resume-stalled-exports": {
        "task": "mairie.procedures.tasks_exports.resume_stalled_exports",
        "schedule": 5 * 60,
    },
    # API and webhooks: send the webhook deliveries that are due (retries, lost messages).
    "procedures-deliver-due-webhooks": {
        "task": "mairie.procedures.tasks_api.deliver_due_webhooks",
        "schedule": 60,
    },
    # Issue 4, retention: identity documents and dossiers past their retention period.
    "procedures-retention": {
        "task": "mairie.procedures.tasks_retention.apply_retention",
        "schedule": 24 * 60 * 60,
    },
    # Issue 5, mandates: tell the mediators a week before their mandates end (once each).
    "crm-mandates-expiring": {
        "task": "mairie.crm.tasks.remind_expiring_mandates",
        "schedule": 6 * 60 * 60,
    },
    # Issue 6, booking: remind borrowers of equipment not back by its date (once a day each).
    "booking-overdue-loans": {
        "task": "mairie.booking.tasks.remind_overdue_loans",
        "schedule": 6 * 60 * 60,
    },
    # Issue 6, appointments: each type's slots up to its booking horizon (decision 0473).
    "appointments-retention": {
        "task": "mairie.appointments.tasks.apply_retention",
        "schedule": 24 * 60 * 60,
    },
    "appointments-generate-slots": {
        "task": "mairie.appointments.tasks.generate_upcoming_slots",
        "schedule": 24 * 60 * 60,
    },
    # Issue 6, appointments: tomorrow's appointments reminded once each (decision 0483).
    "appointments-reminders": {
        "task": "mairie.appointments.tasks.send_reminders",
        "schedule": 60 * 60,
    },
}

# --- Sessions, security -------------------------------------------------------------------
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# Content-Security-Policy: nothing from third parties, no inline script, no inline style
# (docs/web-shell.md). Origins outside the site are only ever added from the environment:
# - CSP_FILE_ORIGINS: where files are fetched from when they are delivered by redirect to
#   object storage (defaults to the S3 endpoint's origin and its sub-domains);
# - CSP_FORM_ACTION: other origins forms may lead to. The organisation's own OpenID Connect
#   providers are added on the account pages by IdentityProviderFormActionMiddleware (browsers
#   apply form-action to the redirect that follows the "log in with…" form).
def _origin_and_subdomains(url: str) -> list[str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return [f"{parts.scheme}://{parts.netloc}", f"{parts.scheme}://*.{parts.netloc}"]


MAIRIE_CSP_FILE_ORIGINS = env.list("CSP_FILE_ORIGINS", default=_origin_and_subdomains(
    env.str("AWS_S3_ENDPOINT_URL")) if env.str("AWS_S3_ENDPOINT_URL", default="") else [])
MAIRIE_CSP_FORM_ACTION = env.list("CSP_FORM_ACTION", default=[])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *MAIRIE_CSP_FILE_ORIGINS],
        "media-src": ["'self'", "blob:", *MAIRIE_CSP_FILE_ORIGINS],
        "font-src": ["'self'"],
        # CSP level 3: 'self' also covers ws(s):// on the same host (notifications, chat).
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *MAIRIE_CSP_FORM_ACTION],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
        **({"upgrade-insecure-requests": True} if PRODUCTION else {}),
    }
}
MAIRIE_PERMISSIONS_POLICY = env.str("MAIRIE_PERMISSIONS_POLICY", default=(
    "camera=(self), microphone=(self), display-capture=(self), geolocation=(self), "
    "fullscreen=(self), payment=(), usb=(), serial=(), bluetooth=(), hid=(), midi=(), "
    "browsing-topics=()"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "mairie.core.accounts.backends.OrganisationAuthenticationBackend",
]
PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"] if TESTING else
    ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
     "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher"]
)

# --- Accounts (django-allauth) --------------------------------------------------------------
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:after-login"
ACCOUNT_LOGOUT_REDIRECT_URL = "web:portal-home"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_ADAPTER = "mairie.core.accounts.adapters.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "mairie.core.accounts.forms.SignupExtraForm"
ACCOUNT_RATE_LIMITS = {
    # Throttling, then lockout: 5 failed logins per account per 5 minutes lock it for the rest
    # of the window, and an address is slowed down after 20 attempts per minute.
    "login_failed": "20/m/ip,5/5m/key",
    "login": "30/m/ip",
    "signup": "10/h/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Mairie")
MFA_RECOVERY_CODE_COUNT = 10
SOCIALACCOUNT_ADAPTER = "mairie.core.accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False

# --- I18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "mairie" / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static and media files ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    # Embedded mode serves static files straight from the apps (finders); the empty folder
    # only spares WhiteNoise a warning about a missing collectstatic output.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media-private/"  # never served directly: files go through permission checks

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
        },
    }

# How protected files are handed to the client: "django" streams them, "x-accel" lets nginx
# do it (X-Accel-Redirect under MAIRIE_X_ACCEL_PREFIX), "redirect" (the default with S3
# storage) sends the client to a signed URL valid MAIRIE_FILE_URL_EXPIRY seconds.
MAIRIE_FILE_DELIVERY = env.str("MAIRIE_FILE_DELIVERY",
                               default="redirect" if AWS_STORAGE_BUCKET_NAME else "django")
MAIRIE_FILE_URL_EXPIRY = env.int("MAIRIE_FILE_URL_EXPIRY", default=60)
MAIRIE_X_ACCEL_PREFIX = env.str("MAIRIE_X_ACCEL_PREFIX", default="/protected/")
MAIRIE_UPLOAD_MAX_BYTES = env.int("MAIRIE_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Virus scanning: "tcp://host:3310" or "unix:///run/clamav/clamd.ctl"; empty means no scanner.
MAIRIE_CLAMD_URL = env.str("MAIRIE_CLAMD_URL", default="")
MAIRIE_FILE_SCAN_TIMEOUT = env.float("MAIRIE_FILE_SCAN_TIMEOUT", default=30.0)
# Reading the text of documents scanned at the counter (decision 0469): the Tesseract binary
# (Debian packages tesseract-ocr and tesseract-ocr-fra), its languages, and how long one
# document may take. Without it, scans are stored and marked « OCR indisponible ».
MAIRIE_TESSERACT = env.str("MAIRIE_TESSERACT", default="tesseract")
MAIRIE_OCR_LANGUAGES = env.str("MAIRIE_OCR_LANGUAGES", default="fra")
MAIRIE_OCR_TIMEOUT = env.int("MAIRIE_OCR_TIMEOUT", default=300)

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Mairie <ne-pas-repondre@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- SMS ------------------------------------------------------------------------------------
# "console://" prints texts (demo, development); "smpp://system_id:password@host:2775" hands
# them to an SMS centre or aggregator over SMPP 3.4 (decision 0471). ?sender=VALMONT sets the
# alphanumeric sender shown on the phone, ?system_type=… what some aggregators ask.
MAIRIE_SMS_URL = env.str("SMS_URL", default="console://")
MAIRIE_SMS_SENDER = env.str("SMS_SENDER", default="MAIRIE")

# --- Appointments (issue 6) -----------------------------------------------------------------
# Residents' forms: attempts per IP address and per e-mail address in a window (seconds),
# past which a question in words is asked (decision 0481). Benchmarks raise them.
APPOINTMENTS_RATE_LIMITS = {
    "book": {
        "ip": (env.int("APPOINTMENTS_BOOKINGS_PER_IP", default=20), 3600),
        "email": (env.int("APPOINTMENTS_BOOKINGS_PER_EMAIL", default=5), 3600),
    },
    "waiting_list": {
        "ip": (env.int("APPOINTMENTS_WAITING_LIST_PER_IP", default=10), 3600),
        "email": (env.int("APPOINTMENTS_WAITING_LIST_PER_EMAIL", default=3), 3600),
    },
}
# From this local hour, the hourly run reminds tomorrow's appointments (decision 0483).
APPOINTMENTS_REMINDER_HOUR = env.int("APPOINTMENTS_REMINDER_HOUR", default=10)
# People told per free seat when a seat frees up (decision 0484).
APPOINTMENTS_WAITING_LIST_PER_SEAT = env.int("APPOINTMENTS_WAITING_LIST_PER_SEAT", default=3)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mairie.api.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "mairie.api.permissions.TokenScopePermission",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "mairie.api.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "mairie.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "mairie.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"user": "1000/hour", "anon": "100/hour"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mairie API",
    "DESCRIPTION": "API REST de Mairie. Authentification par jeton personnel (en-tête "
    "`Authorization: Token <jeton>`), portées (scopes) et date d'expiration ; voir docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl None: Swagger UI would otherwise call validator.swagger.io. No deep links (a
    # link nested in each operation's button) and no syntax colours (below 4.5:1): decision 0220.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "syntaxHighlight": False, "validatorUrl": None},
}

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# --- Mairie ---------------------------------------------------------------------------------
MAIRIE_DEFAULT_ORGANISATION_SLUG = env.str("MAIRIE_DEFAULT_ORGANISATION", default="")
# Local hour (organisation's time zone) from which the daily notification digests go out.
MAIRIE_NOTIFICATION_DIGEST_HOUR = env.int("MAIRIE_NOTIFICATION_DIGEST_HOUR", default=7)
# Batch work: how many tasks take a batch transition's chunks at once (one per worker process).
MAIRIE_BATCH_PARALLEL_TASKS = env.int("MAIRIE_BATCH_PARALLEL_TASKS", default=2)
# Webhooks of procedures: private and local addresses (127.0.0.1, 10.x, 192.168.x…) are refused
# against SSRF unless allowed here (the tests allow them for their local receiver); an endpoint
# is disabled after this many consecutive failed attempts (decision 0431).
MAIRIE_WEBHOOKS_ALLOW_PRIVATE = env.bool("MAIRIE_WEBHOOKS_ALLOW_PRIVATE", default=TESTING)
MAIRIE_WEBHOOKS_MAX_FAILURES = env.int("MAIRIE_WEBHOOKS_MAX_FAILURES", default=10)
