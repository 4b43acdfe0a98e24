"""Deployment checks (`manage.py check --deploy`, which CI runs with `--fail-level WARNING`).

Production runs several processes (gunicorn workers, more web instances when render.yaml scales
the service): nothing one of them needs may live in another one's memory.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.checks import Warning as CheckWarning

# Cache backends whose entries only the process (or, for files, the machine) that wrote them sees.
PROCESS_LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
}


@register(Tags.caches, deploy=True)
def check_cache_is_shared(app_configs, **kwargs):
    backend = settings.CACHES["default"]["BACKEND"]
    if backend not in PROCESS_LOCAL_CACHES:
        return []
    issues = [
        CheckWarning(
            "REDIS_URL is not set: the cache is each process's own memory, so every gunicorn worker and "
            "every instance keeps its own throttle counters and the rate limits multiply with them.",
            hint="Set REDIS_URL to the Redis that every web instance shares (render.yaml does).",
            id="novacart.caches.W001",
        )
    ]
    if settings.CATALOG_CACHE_SECONDS > 0:
        issues.append(
            Error(
                f"CATALOG_CACHE_SECONDS={settings.CATALOG_CACHE_SECONDS} with a cache in process memory: "
                "a catalog write on one process cannot invalidate the pages the others keep, so customers "
                "see old prices and stock for that long.",
                hint="Set REDIS_URL, or CATALOG_CACHE_SECONDS=0.",
                id="novacart.caches.E001",
            )
        )
    return issues
