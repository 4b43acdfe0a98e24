from celery import shared_task

from .services import cart_purge_stale


@shared_task
def purge_stale_carts() -> int:
    """Deletes anonymous carts untouched for settings.CART_TTL_DAYS (beat: every 6 hours)."""
    return cart_purge_stale()
