"""Scheduled jobs for orders (celery beat). Tasks take ids, reload rows, and are safe to run twice."""

import logging

from celery import shared_task

from .idempotency import purge_expired_keys
from .services import order_cancel_expired

logger = logging.getLogger(__name__)


@shared_task
def cancel_expired_orders() -> int:
    """Cancels unpaid card orders past ORDER_PAYMENT_TIMEOUT_MINUTES and unconfirmed cash-on-delivery
    orders past COD_CONFIRMATION_HOURS (beat: every minute)."""
    return order_cancel_expired()


@shared_task
def purge_idempotency_keys() -> int:
    """Deletes Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_HOURS."""
    deleted = purge_expired_keys()
    if deleted:
        logger.info("purged %s expired idempotency key(s)", deleted)
    return deleted
