"""System checks of the catalog's configuration. Django runs them in `manage.py check` (and
`check --deploy`), `migrate` (Render's pre-deploy step, so a failing check stops the deploy) and
`runserver`."""

from django.conf import settings
from django.core.checks import Error, register
from django.core.checks import Warning as CheckWarning
from django.core.files.storage import FileSystemStorage, storages

# The rule of novacart.settings.base, said once for every message that needs it.
PRECEDENCE = "S3 wins when AWS_STORAGE_BUCKET_NAME is set, whatever CLOUDINARY_* say"


@register()
def product_images_are_served(app_configs, **kwargs):
    """products.E001: with DEBUG off, uploaded product images must be stored where they are served.

    On the local disk (FileSystemStorage, what the settings fall back to without S3 or Cloudinary)
    they are never served unless SERVE_MEDIA is on, and on Render that disk is neither shared by the
    instances nor kept across deploys. Production stores them on S3 or an S3-compatible store
    (AWS_STORAGE_BUCKET_NAME) or on Cloudinary (CLOUDINARY_*).
    """
    if settings.DEBUG or settings.SERVE_MEDIA or not isinstance(storages["default"], FileSystemStorage):
        return []
    missing = [f"CLOUDINARY_{key}" for key, value in settings.CLOUDINARY_STORAGE.items() if not value]
    return [
        Error(
            f"Uploaded product images would be saved under MEDIA_ROOT ({settings.MEDIA_ROOT}) on this server's "
            "disk, which is never served with DEBUG off: every image URL would be a 404.",
            hint=(
                "Set AWS_STORAGE_BUCKET_NAME (with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_S3_REGION_NAME, "
                "and AWS_S3_ENDPOINT_URL for an S3-compatible store) to store them on S3, or "
                "CLOUDINARY_CLOUD_NAME, CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET to store them on "
                f"Cloudinary (not set: {', '.join(missing)}); {PRECEDENCE}. Only for a single instance with a "
                "persistent disk: SERVE_MEDIA=1 has Django serve MEDIA_ROOT itself."
            ),
            id="products.E001",
        )
    ]


@register()
def one_media_storage(app_configs, **kwargs):
    """products.W001: S3 and Cloudinary are both configured, so one of them is ignored; say which.
    products.E002: half an S3 key pair, which boto3 would reject on the first upload."""
    issues = []
    if settings.USE_S3 and settings.CLOUDINARY_CONFIGURED:
        issues.append(
            CheckWarning(
                "Both S3 (AWS_STORAGE_BUCKET_NAME) and Cloudinary (CLOUDINARY_*) are configured: new product "
                f"images are stored on S3 and the Cloudinary settings are ignored ({PRECEDENCE}).",
                hint="Unset CLOUDINARY_CLOUD_NAME, CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET to use S3, or "
                "AWS_STORAGE_BUCKET_NAME to stay on Cloudinary. Images stored before are not moved.",
                id="products.W001",
            )
        )
    options = settings.S3_STORAGE_OPTIONS
    if settings.USE_S3 and bool(options["access_key"]) != bool(options["secret_key"]):
        given, empty = (
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
            if options["access_key"]
            else ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
        )
        issues.append(
            Error(
                f"{given} is set but {empty} is empty: the S3 store would refuse every product image upload.",
                hint=f"Set {empty}, or leave both empty for credentials boto3 finds itself (an instance role).",
                id="products.E002",
            )
        )
    return issues


@register()
def cached_image_links_outlive_their_signature(app_configs, **kwargs):
    """products.E003: S3 image URLs are signed for AWS_QUERYSTRING_EXPIRE seconds, and anonymous
    catalog answers are cached for CATALOG_CACHE_SECONDS with those URLs in them: a cache that keeps
    an answer as long as a signature lasts serves image links that have already expired (403s)."""
    options = settings.S3_STORAGE_OPTIONS
    signed = settings.USE_S3 and options["querystring_auth"] and not options["custom_domain"]
    if not signed or options["querystring_expire"] > settings.CATALOG_CACHE_SECONDS:
        return []
    return [
        Error(
            f"Catalog answers are cached for {settings.CATALOG_CACHE_SECONDS} s, but the signed S3 image URLs in "
            f"them expire after {options['querystring_expire']} s: cached answers would carry dead image links.",
            hint="Make CATALOG_CACHE_SECONDS smaller than AWS_QUERYSTRING_EXPIRE, or serve images unsigned "
            "(AWS_QUERYSTRING_AUTH=0 with a public-read bucket, or AWS_S3_CUSTOM_DOMAIN for a CDN).",
            id="products.E003",
        )
    ]
