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
    "axes",
    "tenants",
    "deployments",
    "gateway",
    "console",
    "audit",
]

MIDDLEWARE = [
    "gateway.probes.health_probes",  # first: probes by IP address are answered before the Host check
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "audit.context.audit_context_middleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers a locked-out login with the lockout page
]

# HTTPS. With DEBUG off, cookies are Secure and HSTS is on; HSTS only goes out over HTTPS, so plain-HTTP
# health checks and the quickstart (DEBUG=1, http://127.0.0.1) are unaffected. Behind a proxy that
# terminates TLS, name the header it sets (SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO, value https).
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]  # load balancers and scrapers probe over plain HTTP
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, "https") if _proxy_ssl_header else None

# Logins to the admin and the dashboard (django-axes): after AXES_FAILURE_LIMIT failures for one
# username, or from one client address, that username or address is locked out for AXES_COOLOFF_MINUTES.
# The address is REMOTE_ADDR: behind a proxy, run the server with --proxy-headers so it is the client's.
# Axes first (it refuses locked-out sign-ins), then passwords, then single sign-on (see PRISM_OIDC_* below).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend",
                           "console.oidc.TenantOIDCBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "dashboard/lockout.html"
AXES_RESET_ON_SUCCESS = True

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
# An unreachable database fails fast (503), rather than hanging requests: connecting takes at most
# DB_CONNECT_TIMEOUT seconds, and so does a hot-path lookup in all (tenants/database.py); PostgreSQL
# cancels any statement running longer than DB_STATEMENT_TIMEOUT_MS (0: never).
DB_CONNECT_TIMEOUT = env.int("DB_CONNECT_TIMEOUT", default=3)
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=5000)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
    if DB_STATEMENT_TIMEOUT_MS:
        options["options"] = f"{options.get('options', '')} -c statement_timeout={DB_STATEMENT_TIMEOUT_MS}".strip()
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

LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"

# Console sign-in: Django accounts, and OpenID Connect when an issuer and a client are set. The
# provider's endpoints come from its discovery document; OIDC_OP_*_ENDPOINT variables override them.
PRISM_OIDC_ISSUER = env.str("PRISM_OIDC_ISSUER", default="")
OIDC_RP_CLIENT_ID = env.str("PRISM_OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("PRISM_OIDC_CLIENT_SECRET", default="")
OIDC_RP_SIGN_ALGO = env.str("PRISM_OIDC_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = "openid email"
OIDC_USE_PKCE = True
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
LOGIN_REDIRECT_URL_FAILURE = "/console/login/?sso=failed"
# Email domain → tenant name, e.g. example.com=acme,example.org=beta: new SSO users join as viewers.
PRISM_OIDC_TENANT_DOMAINS = {domain.lower(): tenant for domain, tenant in
                             env.dict("PRISM_OIDC_TENANT_DOMAINS", default={}).items()}

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
# /metrics: with a token, only requests bearing it (Authorization: Bearer ...); without, only this machine.
PRISM_METRICS_TOKEN = env.str("PRISM_METRICS_TOKEN", default="")
# What a request without max_tokens reserves against token limits and budgets: the most its model may
# answer, by the longest prefix of the model's name ("gpt-4o=16384,o3=100000" in the environment).
PRISM_DEFAULT_MAX_OUTPUT_TOKENS = env.int("PRISM_DEFAULT_MAX_OUTPUT_TOKENS", default=4096)
PRISM_OUTPUT_CAPS = {
    "gpt-4o": 16384, "gpt-4.1": 32768, "o1": 100000, "o3": 100000, "o4": 100000,
    "claude-opus-4": 32000, "claude-sonnet-4": 64000, "claude-haiku-4": 64000,
    **env.dict("PRISM_OUTPUT_CAPS", cast={"value": int}, default={}),
}
# Rate-limit and budget counters' key prefix, in the cache (Redis when REDIS_URL is set).
PRISM_COUNTER_PREFIX = env.str("PRISM_COUNTER_PREFIX", default="prism")
# The hot path reaches Redis on one pipelined connection per process (gateway/redis_wire.py); the timeout
# bounds connecting and each call; then the request answers 503.
PRISM_REDIS_TIMEOUT = env.float("PRISM_REDIS_TIMEOUT", default=3.0)
# How long a process trusts its cached keys and routes before it reads them again.
PRISM_DIRECTORY_TTL = env.float("PRISM_DIRECTORY_TTL", default=1.0)
# Usage records are written in batches this often, or sooner when this many are waiting.
PRISM_USAGE_FLUSH_INTERVAL = env.float("PRISM_USAGE_FLUSH_INTERVAL", default=0.5)
PRISM_USAGE_BATCH_SIZE = env.int("PRISM_USAGE_BATCH_SIZE", default=500)
# Each process appends its usage records here until they are stored (a kill -9 loses none), and the
# records the database refuses go to dead-letter.jsonl here (gateway/usage_spool.py).
PRISM_SPOOL_DIR = env.path("PRISM_SPOOL_DIR", default=BASE_DIR / "var" / "spool")

# Budget alerts (gateway/alerts.py): a webhook signed with the secret, and/or emails through EMAIL_URL.
PRISM_ALERT_WEBHOOK_URL = env.str("PRISM_ALERT_WEBHOOK_URL", default="")
PRISM_ALERT_WEBHOOK_SECRET = env.str("PRISM_ALERT_WEBHOOK_SECRET", default="")
PRISM_ALERT_EMAILS = env.list("PRISM_ALERT_EMAILS", default=[])
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="prism@localhost")

# The quickstart's demo key, kept in the local .env so re-running it prints the same key.
PRISM_DEMO_KEY = env.str("PRISM_DEMO_KEY", default="")
PRISM_DEMO_ADMIN_PASSWORD = env.str("PRISM_DEMO_ADMIN_PASSWORD", default="")

# The plugins every chat completion runs through, in order; the routed provider comes last.
PRISM_PIPELINE = [
    "gateway.plugins.auth.AuthenticationPlugin",
    "gateway.plugins.validation.RequestValidation",
    "gateway.plugins.model_router.ModelRouter",
    "gateway.plugins.limits.RateLimits",
    "gateway.plugins.budgets.Budgets",
    "gateway.plugins.stream_usage.StreamUsagePlugin",
]

# Deployments' circuit breakers (deployments/state.py): this many failures within the window take a
# deployment out for the cooldown (a 429's Retry-After, up to the maximum, instead).
PRISM_DEPLOYMENT_FAILURES = env.int("PRISM_DEPLOYMENT_FAILURES", default=3)
PRISM_DEPLOYMENT_FAILURE_WINDOW = env.float("PRISM_DEPLOYMENT_FAILURE_WINDOW", default=10.0)
PRISM_DEPLOYMENT_COOLDOWN = env.float("PRISM_DEPLOYMENT_COOLDOWN", default=10.0)
PRISM_DEPLOYMENT_COOLDOWN_MAX = env.float("PRISM_DEPLOYMENT_COOLDOWN_MAX", default=30.0)
