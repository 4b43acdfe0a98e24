"""System checks of the catalog's configuration. Django runs them in `manage.py check` (and
`check --deploy`), `migrate` (Render's pre-deploy step, so a failing check stops the deploy) and
`runserver`."""

from django.conf import settings
from django.core.checks import Error, register
from django.core.files.storage import FileSystemStorage, storages


@register()
def product_images_are_served(app_configs, **kwargs):
    """products.E001: with DEBUG off, uploaded product images must be stored where they are served.

    On the local disk (FileSystemStorage, what the settings fall back to without Cloudinary) they are
    never served unless SERVE_MEDIA is on, and on Render that disk is neither shared by the instances
    nor kept across deploys. Production stores them on Cloudinary (CLOUDINARY_*).
    """
    if settings.DEBUG or settings.SERVE_MEDIA or not isinstance(storages["default"], FileSystemStorage):
        return []
    missing = [f"CLOUDINARY_{key}" for key, value in settings.CLOUDINARY_STORAGE.items() if not value]
    return [
        Error(
            f"Uploaded product images would be saved under MEDIA_ROOT ({settings.MEDIA_ROOT}) on this server's "
            "disk, which is never served with DEBUG off: every image URL would be a 404.",
            hint=(
                "Set CLOUDINARY_CLOUD_NAME, CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET to store them on "
                f"Cloudinary (not set: {', '.join(missing)}). Only for a single instance with a persistent "
                "disk: SERVE_MEDIA=1 has Django serve MEDIA_ROOT itself."
            ),
            id="products.E001",
        )
    ]
