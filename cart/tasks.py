from celery import shared_task


@shared_task
def purge_stale_carts() -> int:
    """Deletes anonymous carts untouched for settings.CART_TTL_DAYS (beat: every 6 hours)."""
    from .services import cart_purge_stale

    return cart_purge_stale()
