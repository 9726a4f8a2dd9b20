"""Prism's settings, read from the environment and an optional `.env` file."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
# Key hashes use their own pepper so that rotating SECRET_KEY keeps every Prism key valid.
PRISM_KEY_PEPPER = env.str("PRISM_KEY_PEPPER", default="")
if not DEBUG and not (SECRET_KEY and PRISM_KEY_PEPPER):
    raise SystemExit(
        "Prism refuses to start: set SECRET_KEY and PRISM_KEY_PEPPER in the environment "
        "or .env (or DEBUG=1 for local development)."
    )
SECRET_KEY = SECRET_KEY or "prism-insecure-development-secret-key"
PRISM_KEY_PEPPER = PRISM_KEY_PEPPER or "prism-insecure-development-pepper"
# Encrypts tenants' own provider keys; defaults to the pepper (changing it makes them unreadable).
PRISM_CREDENTIALS_KEY = env.str("PRISM_CREDENTIALS_KEY", default=PRISM_KEY_PEPPER)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "channels",
    "tenants",
    "deployments",
    "gateway",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "prism_site.urls"
ASGI_APPLICATION = "prism_site.asgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable database fails fast (503), rather than hanging requests.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent readers while the usage writer writes (WAL, which is crash-safe without a sync per
    # commit); tests use a file so that other processes can share it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "transaction_mode": "IMMEDIATE"}
    )
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache("CACHE_URL")}
elif REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CHANNEL_LAYERS = (
    {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
    if REDIS_URL
    else {}
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["gateway.authentication.PrismKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "gateway.errors.drf_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"message": {"format": "%(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "requests": {"class": "logging.StreamHandler", "formatter": "message"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # One JSON line per chat request (gateway/observability.py); PRISM_REQUEST_LOG=0 turns it off.
    "loggers": {
        "prism.requests": {
            "handlers": ["requests"],
            "level": "INFO" if env.bool("PRISM_REQUEST_LOG", default=True) else "WARNING",
            "propagate": False,
        },
    },
}

# Providers: names used by the router's config.yml and routing rules, mapped to their classes.
PRISM_PROVIDERS = {
    "openai_provider": "providers.openai_provider.OpenAIProvider",
    "mock_provider": "providers.mock_provider.MockProvider",
    "azure_openai_provider": "providers.azure_openai_provider.AzureOpenAIProvider",
    "anthropic_provider": "providers.anthropic_provider.AnthropicProvider",
}
PRISM_ROUTER_CONFIG = env.path(
    "PRISM_ROUTER_CONFIG", default=BASE_DIR / "gateway" / "plugins" / "model_router" / "config.yml"
)
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="https://api.openai.com/v1")
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="https://api.anthropic.com")
AZURE_OPENAI_ENDPOINT = env.str("AZURE_OPENAI_ENDPOINT", default="")  # https://NAME.openai.azure.com
AZURE_OPENAI_API_KEY = env.str("AZURE_OPENAI_API_KEY", default="")
AZURE_OPENAI_API_VERSION = env.str("AZURE_OPENAI_API_VERSION", default="2024-10-21")

# The gateway's hot path.
# Browser origins allowed to call the doors (CORS), e.g. https://app.example.com; "*" for any; empty for none.
PRISM_CORS_ORIGINS = env.list("PRISM_CORS_ORIGINS", default=[])
PRISM_MAX_BODY_BYTES = env.int("PRISM_MAX_BODY_BYTES", default=4 * 1024 * 1024)
PRISM_UPSTREAM_CONNECT_TIMEOUT = env.float("PRISM_UPSTREAM_CONNECT_TIMEOUT", default=10.0)
PRISM_UPSTREAM_READ_TIMEOUT = env.float("PRISM_UPSTREAM_READ_TIMEOUT", default=300.0)
PRISM_UPSTREAM_TIMEOUT = env.float("PRISM_UPSTREAM_TIMEOUT", default=600.0)
# Retries of a failed upstream call (connection error, timeout, 429, 5xx) before the fallbacks are tried;
# an upstream asking to wait longer than PRISM_RETRY_MAX_WAIT seconds is not retried.
PRISM_UPSTREAM_RETRIES = env.int("PRISM_UPSTREAM_RETRIES", default=2)
PRISM_RETRY_BACKOFF = env.float("PRISM_RETRY_BACKOFF", default=0.25)
PRISM_RETRY_MAX_WAIT = env.float("PRISM_RETRY_MAX_WAIT", default=10.0)
# Rate-limit and budget counters' key prefix, in the cache (Redis when REDIS_URL is set).
PRISM_COUNTER_PREFIX = env.str("PRISM_COUNTER_PREFIX", default="prism")
# How long a process trusts its cached keys and routes before it reads them again.
PRISM_DIRECTORY_TTL = env.float("PRISM_DIRECTORY_TTL", default=1.0)
# Usage records are written in batches this often, or sooner when this many are waiting.
PRISM_USAGE_FLUSH_INTERVAL = env.float("PRISM_USAGE_FLUSH_INTERVAL", default=0.5)
PRISM_USAGE_BATCH_SIZE = env.int("PRISM_USAGE_BATCH_SIZE", default=500)

# The quickstart's demo key, kept in the local .env so re-running it prints the same key.
PRISM_DEMO_KEY = env.str("PRISM_DEMO_KEY", default="")
PRISM_DEMO_ADMIN_PASSWORD = env.str("PRISM_DEMO_ADMIN_PASSWORD", default="")

# The plugins every chat completion runs through, in order; the routed provider comes last.
PRISM_PIPELINE = [
    "gateway.plugins.auth.AuthenticationPlugin",
    "gateway.plugins.validation.RequestValidation",
    "gateway.plugins.model_router.ModelRouter",
    "gateway.plugins.limits.RateLimits",
    "gateway.plugins.stream_usage.StreamUsagePlugin",
]

# Deployments' circuit breakers (deployments/state.py): this many failures within the window take a
# deployment out for the cooldown (a 429's Retry-After, up to the maximum, instead).
PRISM_DEPLOYMENT_FAILURES = env.int("PRISM_DEPLOYMENT_FAILURES", default=3)
PRISM_DEPLOYMENT_FAILURE_WINDOW = env.float("PRISM_DEPLOYMENT_FAILURE_WINDOW", default=10.0)
PRISM_DEPLOYMENT_COOLDOWN = env.float("PRISM_DEPLOYMENT_COOLDOWN", default=10.0)
PRISM_DEPLOYMENT_COOLDOWN_MAX = env.float("PRISM_DEPLOYMENT_COOLDOWN_MAX", default=30.0)
