"""NovaCart settings: everything comes from the environment (see .env.example).

`NOVACART_DEV=1` (set by `make run`) switches the *defaults* to a local
development setup: DEBUG on, a throwaway secret key, localhost hosts and the
dummy payment gateway. Anything set in the environment or in `.env` still wins.
"""

from datetime import timedelta

import dj_database_url
from botocore.config import Config as BotoConfig
from django.core.exceptions import ImproperlyConfigured

from novacart.monitoring import sentry_init

from .env import BASE_DIR, env_bool, env_float, env_int, env_list, env_str

DEV = env_bool("NOVACART_DEV", False)
DEBUG = env_bool("DEBUG", DEV)

_DEV_SECRET_KEY = "django-insecure-novacart-local-development-only"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")
# Render sets the service's own host name (xyz.onrender.com) on web services.
RENDER_EXTERNAL_HOSTNAME = env_str("RENDER_EXTERNAL_HOSTNAME")
if RENDER_EXTERNAL_HOSTNAME and RENDER_EXTERNAL_HOSTNAME not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(RENDER_EXTERNAL_HOSTNAME)

if not DEBUG:
    if not SECRET_KEY or SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of at least 32 characters when DEBUG is off. "
            "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must list the host names this server answers to when DEBUG is off "
            "(comma-separated, e.g. 'shop.example.com,.onrender.com')."
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "anymail",
    "novacart",  # the checks that span the apps (novacart/checks.py)
    "users",
    "products",
    "cart",
    "addresses",
    "orders",
    "payments",
]

MIDDLEWARE = [
    "novacart.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "novacart.body_limit.RequestBodyLimitMiddleware",  # 413/411 before anything reads the body
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "novacart.urls"
WSGI_APPLICATION = "novacart.wsgi.application"
AUTH_USER_MODEL = "users.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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

# --- Database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
_db = dj_database_url.parse(DATABASE_URL)
if _db["ENGINE"] == "django.db.backends.postgresql":
    _db = dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
else:
    # SQLite: wait for a concurrent writer instead of failing at once, and take the write lock when
    # a transaction starts (BEGIN IMMEDIATE): a transaction that reads, then writes, would otherwise
    # fail with "database is locked" instead of waiting its turn.
    _db.setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
DATABASES = {"default": _db}
IS_POSTGRES = _db["ENGINE"] == "django.db.backends.postgresql"

# --- Cache (throttling, catalog responses) ----------------------------------
# REDIS_URL is the cache's own Redis (allkeys-lru), never the Celery broker's (see render.yaml).
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "novacart",
            # A slow or unreachable Redis must not hold a request: a command gives up after a second
            # and the caller degrades (novacart/cache.py).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # Django's default of 300 entries thrashes as soon as more than 300 product pages are cached.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }
# A per-process memory cache cannot be invalidated across gunicorn workers: without Redis the
# catalog cache is only on by default for the single-process development server.
CATALOG_CACHE_SECONDS = env_int("CATALOG_CACHE_SECONDS", 60 if (REDIS_URL or DEBUG) else 0)

# --- Auth -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_SECONDS", 3 * 24 * 3600)
# The development front end under DEBUG only; with DEBUG off it must be set (novacart.checks).
FRONTEND_URL = env_str("FRONTEND_URL", "http://localhost:5173" if DEBUG else "").rstrip("/")
# How long the e-mail verification link (<FRONTEND_URL>/verify-email?uid=...&token=...) stays valid.
EMAIL_VERIFICATION_TIMEOUT_HOURS = env_int("EMAIL_VERIFICATION_TIMEOUT_HOURS", 72)

# Google sign-in (POST /api/auth/google/): the OAuth client id(s) ID tokens must be issued for
# (comma-separated when the web and mobile apps have their own); without one the endpoint is a 503.
GOOGLE_CLIENT_ID = env_str("GOOGLE_CLIENT_ID")
# Google's signing certificates (the x509 PEM map); tests point it at a local server.
GOOGLE_CERTS_URL = env_str("GOOGLE_CERTS_URL", "https://www.googleapis.com/oauth2/v1/certs")
GOOGLE_CERTS_TIMEOUT_SECONDS = env_int("GOOGLE_CERTS_TIMEOUT_SECONDS", 5)
# Seconds of clock difference allowed on the token's iat and exp (google-auth's clock_skew_in_seconds).
GOOGLE_CLOCK_SKEW_SECONDS = env_int("GOOGLE_CLOCK_SKEW_SECONDS", 10)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("ACCESS_TOKEN_LIFETIME_MINUTES", 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(minutes=env_int("REFRESH_TOKEN_LIFETIME_MINUTES", 7 * 24 * 60)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Off: every sign-in records last_login in one place, users.services.user_record_sign_in.
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
}
# Cookie transport for browser SPAs (POST /api/auth/login/).
AUTH_COOKIE_ACCESS = "access"
AUTH_COOKIE_REFRESH = "refresh"
AUTH_COOKIE_SECURE = env_bool("AUTH_COOKIE_SECURE", not DEBUG)
AUTH_COOKIE_SAMESITE = env_str("AUTH_COOKIE_SAMESITE", "Lax")
AUTH_COOKIE_DOMAIN = env_str("AUTH_COOKIE_DOMAIN") or None

# --- DRF ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "users.authentication.JWTHeaderOrCookieAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": (
        ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"]
        if DEBUG
        else ["rest_framework.renderers.JSONRenderer"]
    ),
    # JSON only: anything else is a 415 (the product image upload alone takes multipart).
    "DEFAULT_PARSER_CLASSES": ["novacart.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "novacart.pagination.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "novacart.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    # Every endpoint is rate-limited (OWASP API4) unless it sets its own throttle_classes (login,
    # password reset: stricter; health and the Stripe webhook: none). Counters live in the default
    # cache: Redis when REDIS_URL is set, so the limits hold across workers and instances. DRF's
    # classes with a policy for a failing cache (novacart/throttling.py: these fail open).
    "DEFAULT_THROTTLE_CLASSES": [
        "novacart.throttling.AnonRateThrottle",
        "novacart.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        # Failed sign-ins (/api/token/, /api/auth/login/, the admin login) per client address and per
        # account; once either is full even the right password waits (users.throttles.SignInLimiter).
        "login": env_str("THROTTLE_LOGIN_RATE", "10/min"),
        "login_account": env_str("THROTTLE_LOGIN_ACCOUNT_RATE", "20/hour"),
        # Every sign-in attempt, successful or not (each costs a password hash), per address and account.
        "login_attempt": env_str("THROTTLE_LOGIN_ATTEMPT_RATE", "60/min"),
        "login_attempt_account": env_str("THROTTLE_LOGIN_ATTEMPT_ACCOUNT_RATE", "10/min"),
        # Wrong current passwords on change-password, per user.
        "password_change": env_str("THROTTLE_PASSWORD_CHANGE_RATE", "10/hour"),
        # Token refreshes per client address (looser under `make run`).
        "auth": env_str("THROTTLE_AUTH_RATE", "300/min" if DEV else "30/min"),
        # Registrations per client address: it answers `email_taken`, so it is tight.
        "register": env_str("THROTTLE_REGISTER_RATE", "300/hour" if DEV else "30/hour"),
        # Reset requests per address and per target e-mail; confirmations per link and address.
        "password_reset": env_str("THROTTLE_PASSWORD_RESET_RATE", "100/hour" if DEV else "5/hour"),
        "password_reset_email": env_str("THROTTLE_PASSWORD_RESET_EMAIL_RATE", "100/hour" if DEV else "5/hour"),
        "password_reset_confirm": env_str("THROTTLE_PASSWORD_RESET_CONFIRM_RATE", "10/hour"),
        # Verification mails asked for again, per user (the address may be someone else's: fails closed).
        "email_verification_resend": env_str(
            "THROTTLE_EMAIL_VERIFICATION_RESEND_RATE", "100/hour" if DEV else "3/hour"
        ),
        # Voucher codes tried on a cart (POST /api/cart/voucher/), per user, or per client address
        # without a login: against guessing codes, so it fails closed (orders.views.VoucherApplyThrottle).
        "voucher": env_str("THROTTLE_VOUCHER_RATE", "100/min" if DEV else "10/min"),
        # Guest order lookups (each may mail a link), per client address and per e-mail asked about.
        "order_lookup": env_str("THROTTLE_ORDER_LOOKUP_RATE", "100/hour" if DEV else "10/hour"),
        "order_lookup_email": env_str("THROTTLE_ORDER_LOOKUP_EMAIL_RATE", "100/hour" if DEV else "5/hour"),
        # Every other endpoint, per client address / per user (looser under `make run`).
        "anon": env_str("THROTTLE_ANON_RATE", "6000/min" if DEV else "600/min"),
        "user": env_str("THROTTLE_USER_RATE", "6000/min" if DEV else "1200/min"),
    },
    "NUM_PROXIES": env_int("NUM_PROXIES", 1) if not DEBUG else None,
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "novacart.exceptions.NovaCartExceptionHandler",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    # Only the schema reads this: these statuses are documented automatically where they apply.
    # 409, 413, 422, 502 and 503 are declared per endpoint with @extend_schema where they really
    # happen (listing them here would document them on every endpoint, without a schema).
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "415", "429", "500"],
    # Our 401 and 404 codes are more than DRF's (see novacart/openapi.py).
    "ERROR_SCHEMAS": {
        "401": "novacart.openapi.ErrorResponse401Serializer",
        "404": "novacart.openapi.ErrorResponse404Serializer",
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "NovaCart API",
    "DESCRIPTION": (
        "E-commerce backend: catalog, carts, orders and Stripe payments. "
        "Errors share one shape: {type, errors: [{code, detail, attr}]}."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from our own static files (drf-spectacular-sidecar, pinned in
    # requirements.txt): the docs work offline and ask no CDN for anything.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No "valid" badge: Swagger UI would send the schema to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None, "persistAuthorization": True},
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "novacart.openapi.ErrorCode401.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
        "OrderStatusEnum": "orders.models.OrderStatus.choices",
        "PaymentMethodEnum": "orders.models.PaymentMethod.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "novacart.openapi.postprocess_schema",
    ],
}

# --- CORS / CSRF ----------------------------------------------------------
# No cross-origin browser access by default with DEBUG off; localhost origins are refused there (novacart.checks).
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "http://localhost:5173,http://127.0.0.1:5173" if DEBUG else "")
CORS_ALLOW_CREDENTIALS = True
CORS_EXPOSE_HEADERS = ["X-Request-ID"]
from corsheaders.defaults import default_headers  # noqa: E402

CORS_ALLOW_HEADERS = (*default_headers, "idempotency-key", "x-cart-token", "x-order-token", "x-request-id")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", ",".join(CORS_ALLOWED_ORIGINS))
# Where a payment page may send the customer back to (Stripe Checkout success/cancel URLs).
FRONTEND_ALLOWED_ORIGINS = env_list("FRONTEND_ALLOWED_ORIGINS", ",".join([FRONTEND_URL, *CORS_ALLOWED_ORIGINS]))

# --- Static and media -----------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / env_str("MEDIA_ROOT", "media")

# Product images: S3 (or an S3-compatible store) when AWS_STORAGE_BUCKET_NAME is set, else Cloudinary
# when all three CLOUDINARY_* are set, else the local disk (MEDIA_ROOT). With both configured S3 wins:
# the bucket name is the one deliberate switch, so Cloudinary variables left over from before cannot
# keep new images on Cloudinary unnoticed (`check` warns, products.W001).
CLOUDINARY_STORAGE = {
    "CLOUD_NAME": env_str("CLOUDINARY_CLOUD_NAME"),
    "API_KEY": env_str("CLOUDINARY_API_KEY"),
    "API_SECRET": env_str("CLOUDINARY_API_SECRET"),
}
CLOUDINARY_CONFIGURED = all(CLOUDINARY_STORAGE.values())
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
USE_S3 = bool(AWS_STORAGE_BUCKET_NAME)
USE_CLOUDINARY = CLOUDINARY_CONFIGURED and not USE_S3
# django-storages' S3Storage options (storages.backends.s3). Credentials may be left empty where boto3
# finds its own (an instance role, AWS_PROFILE); AWS_S3_ENDPOINT_URL points at MinIO, R2, Spaces...
S3_STORAGE_OPTIONS = {
    "bucket_name": AWS_STORAGE_BUCKET_NAME,
    "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
    "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
    "region_name": env_str("AWS_S3_REGION_NAME") or None,
    "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
    # "path" for stores without a DNS name per bucket; empty lets boto3 choose.
    "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE") or None,
    # A key prefix, for a bucket shared with other things.
    "location": env_str("AWS_LOCATION").strip("/"),
    # A CDN (CloudFront) or a public bucket's own domain: URLs become https://<domain>/<key>, unsigned.
    "custom_domain": env_str("AWS_S3_CUSTOM_DOMAIN") or None,
    # Signed, expiring URLs by default: they work with a private bucket, which is what a new bucket is
    # (Block Public Access on). A public-read bucket policy or a CDN: AWS_QUERYSTRING_AUTH=0 gives
    # stable URLs that browsers and CDNs can cache.
    "querystring_auth": env_bool("AWS_QUERYSTRING_AUTH", True),
    "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 3600),
    # No ACL on uploads: new buckets enforce "bucket owner" object ownership and refuse ACLs; who may
    # read is the bucket policy's business.
    "default_acl": None,
    # Every stored name is a new uuid, so an object never changes: let browsers keep it.
    "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
    # A store that does not answer must not hold a staff upload for botocore's default minute.
    "client_config": BotoConfig(
        connect_timeout=env_int("AWS_S3_CONNECT_TIMEOUT_SECONDS", 5),
        read_timeout=env_int("AWS_S3_READ_TIMEOUT_SECONDS", 30),
        retries={"mode": "standard", "max_attempts": 3},
    ),
}
if USE_CLOUDINARY:
    INSTALLED_APPS.insert(INSTALLED_APPS.index("django.contrib.staticfiles"), "cloudinary_storage")
    INSTALLED_APPS.append("cloudinary")
if USE_S3:
    _media_storage = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": S3_STORAGE_OPTIONS}
elif USE_CLOUDINARY:
    _media_storage = {"BACKEND": "cloudinary_storage.storage.MediaCloudinaryStorage"}
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
SERVE_MEDIA = env_bool("SERVE_MEDIA", DEBUG and not (USE_S3 or USE_CLOUDINARY))
PRODUCT_IMAGE_MAX_BYTES = env_int("PRODUCT_IMAGE_MAX_BYTES", 5 * 1024 * 1024)
# Pixels of all frames together: an animation is that many canvases to whoever shows it.
PRODUCT_IMAGE_MAX_PIXELS = env_int("PRODUCT_IMAGE_MAX_PIXELS", 40_000_000)
PRODUCT_IMAGE_MAX_FRAMES = env_int("PRODUCT_IMAGE_MAX_FRAMES", 200)
# Variants: the most one product may have, and the most option names (Size, Colour, ...) they vary by.
PRODUCT_MAX_VARIANTS = env_int("PRODUCT_MAX_VARIANTS", 100)
PRODUCT_MAX_OPTIONS = env_int("PRODUCT_MAX_OPTIONS", 3)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
# The largest multipart body (the image upload, admin forms with images), checked on Content-Length
# before it is read; every other body has DATA_UPLOAD_MAX_MEMORY_SIZE (novacart/body_limit.py).
UPLOAD_MAX_BODY_BYTES = env_int("UPLOAD_MAX_BODY_BYTES", 4 * PRODUCT_IMAGE_MAX_BYTES)

# --- E-mail ---------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "NovaCart <no-reply@novacart.local>")
RESEND_API_KEY = env_str("RESEND_API_KEY")
EMAIL_HOST = env_str("EMAIL_HOST")
if env_str("EMAIL_BACKEND"):
    EMAIL_BACKEND = env_str("EMAIL_BACKEND")
elif RESEND_API_KEY:
    EMAIL_BACKEND = "anymail.backends.resend.EmailBackend"
elif EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    # Development only: with DEBUG off the app refuses to start on it (novacart.checks, E001).
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
ANYMAIL = {"RESEND_API_KEY": RESEND_API_KEY}
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10

# --- Celery ---------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
# Without a broker (the embedded default) tasks run in-process, so `make run` needs nothing else.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "cancel-expired-orders": {
        "task": "orders.tasks.cancel_expired_orders",
        "schedule": 60.0,
    },
    "purge-idempotency-keys": {
        "task": "orders.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
    },
    "purge-stale-carts": {
        "task": "cart.tasks.purge_stale_carts",
        "schedule": 6 * 3600.0,
    },
    "purge-used-google-credentials": {
        "task": "users.tasks.purge_used_google_credentials",
        "schedule": 3600.0,
    },
    "purge-expired-tokens": {
        "task": "users.tasks.purge_expired_tokens",
        "schedule": 24 * 3600.0,
    },
    "reconcile-payments": {
        "task": "payments.tasks.reconcile_payments",
        "schedule": 24 * 3600.0,
    },
}

# --- Shop rules -----------------------------------------------------------
STORE_CURRENCY = env_str("STORE_CURRENCY", "usd").lower()
# Whether catalog prices include tax (VAT-style shops) or tax is added at checkout (the default).
PRICES_INCLUDE_TAX = env_bool("PRICES_INCLUDE_TAX", False)
CART_TTL_DAYS = env_int("CART_TTL_DAYS", 30)
CART_MAX_QUANTITY = env_int("CART_MAX_QUANTITY", 100)
# A cart is a shopping list, not a warehouse: a cap on distinct lines keeps every cart response small.
CART_MAX_LINES = env_int("CART_MAX_LINES", 100)
# Enough for anyone's homes, offices and relatives; a bound on what one account can store.
ADDRESS_MAX_PER_USER = env_int("ADDRESS_MAX_PER_USER", 50)
ORDER_PAYMENT_TIMEOUT_MINUTES = env_int("ORDER_PAYMENT_TIMEOUT_MINUTES", 30)
# Cash on delivery takes stock without taking money: one customer holds at most this many COD orders
# not yet paid, and staff must confirm each within COD_CONFIRMATION_HOURS or it is cancelled.
COD_MAX_OPEN_ORDERS = env_int("COD_MAX_OPEN_ORDERS", 2)
COD_CONFIRMATION_HOURS = env_int("COD_CONFIRMATION_HOURS", 48)
# Customers may ask to return delivered units for this many days after delivery (orders.returns).
RETURN_WINDOW_DAYS = env_int("RETURN_WINDOW_DAYS", 30)
# Anonymous carts may become orders (an e-mail, an inline address, card only); 0: orders need an account.
GUEST_CHECKOUT = env_bool("GUEST_CHECKOUT", True)
# Most single-use voucher codes the admin's "generate codes" action makes at once.
VOUCHER_GENERATE_MAX = env_int("VOUCHER_GENERATE_MAX", 1000)
IDEMPOTENCY_KEY_TTL_HOURS = 24
LOW_STOCK_THRESHOLD = env_int("LOW_STOCK_THRESHOLD", 5)

# --- Payments -------------------------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE") or None
STRIPE_API_VERSION = env_str("STRIPE_API_VERSION", "2025-09-30.clover")
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 10)
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)
# Razorpay (seed 004): PAYMENT_GATEWAY=razorpay. The key id goes to Razorpay Checkout in the browser;
# the key secret signs the checkout's answer and authenticates our API calls; the webhook secret is
# the one set on the webhook in Razorpay's dashboard. RAZORPAY_API_BASE points the SDK elsewhere.
RAZORPAY_KEY_ID = env_str("RAZORPAY_KEY_ID")
RAZORPAY_KEY_SECRET = env_str("RAZORPAY_KEY_SECRET")
RAZORPAY_WEBHOOK_SECRET = env_str("RAZORPAY_WEBHOOK_SECRET")
RAZORPAY_API_BASE = env_str("RAZORPAY_API_BASE") or "https://api.razorpay.com"
RAZORPAY_TIMEOUT_SECONDS = env_int("RAZORPAY_TIMEOUT_SECONDS", 10)
# Razorpay keeps receipts for ever and our retries find their first order or refund by receipt: two
# installations sharing one Razorpay account (staging and production in test mode, a restored copy)
# each need their own prefix, or one could pick up the other's order for the same order id.
RAZORPAY_RECEIPT_PREFIX = env_str("RAZORPAY_RECEIPT_PREFIX")
# "stripe" when a secret key is configured; the development gateway under `make run`.
PAYMENT_GATEWAY = env_str(
    "PAYMENT_GATEWAY", "stripe" if STRIPE_SECRET_KEY else ("dummy" if DEV and DEBUG else "")
).lower()
if PAYMENT_GATEWAY not in ("", "stripe", "razorpay", "dummy"):
    raise ImproperlyConfigured(
        f"PAYMENT_GATEWAY must be 'stripe', 'razorpay', 'dummy' or empty, got {PAYMENT_GATEWAY!r}."
    )
if PAYMENT_GATEWAY == "dummy" and not DEBUG:
    raise ImproperlyConfigured(
        "PAYMENT_GATEWAY=dummy confirms payments without taking money and is refused when DEBUG is off."
    )

# --- Security -------------------------------------------------------------
ADMIN_URL = env_str("ADMIN_URL", "admin/").strip("/") + "/"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Render's health checks and the internal network reach us over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]

# --- I18n -----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging --------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "novacart.middleware.RequestIdFilter"},
        "redact": {"()": "novacart.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request_id", "redact"],
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},
    },
}

# --- Error monitoring (Sentry) ----------------------------------------------
# Nothing is initialised without a DSN. Events carry no personal data (novacart/monitoring.py).
SENTRY_DSN = env_str("SENTRY_DSN")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
# Render sets RENDER_GIT_COMMIT on each deploy: by default the release is the commit that runs.
SENTRY_RELEASE = env_str("SENTRY_RELEASE") or env_str("RENDER_GIT_COMMIT")
# Share of requests and tasks traced (0.0-1.0); unset, no traces are sent at all.
SENTRY_TRACES_SAMPLE_RATE = env_float("SENTRY_TRACES_SAMPLE_RATE")
if SENTRY_TRACES_SAMPLE_RATE is not None and not 0 <= SENTRY_TRACES_SAMPLE_RATE <= 1:
    raise ImproperlyConfigured(f"SENTRY_TRACES_SAMPLE_RATE must be between 0 and 1, got {SENTRY_TRACES_SAMPLE_RATE}.")
sentry_init(
    dsn=SENTRY_DSN,
    environment=SENTRY_ENVIRONMENT,
    release=SENTRY_RELEASE,
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
)
