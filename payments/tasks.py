"""Background work for payments. Tasks take ids, reload rows, and are safe to run twice."""

import logging

from celery import shared_task

from novacart.exceptions import ServiceError

from .refunds import payment_refund_automatic
from .selectors import payment_inconsistencies

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=8)
def payment_auto_refund(self, payment_id: int) -> str:
    """Refunds a payment that arrived for an order that could no longer take it.

    Runs after the webhook's transaction committed (never under its locks). The provider's
    idempotency key makes a retry harmless; a provider failure is retried with backoff, and
    `reconcile_payments` reports the payment while it stays unrefunded.
    """
    try:
        answer = payment_refund_automatic(payment_id=payment_id)
    except ServiceError as exc:
        logger.error("automatic refund of payment %s failed: %s (%s)", payment_id, exc, exc.code)
        if exc.status_code >= 500 and self.request.called_directly is False and not self.request.is_eager:
            raise self.retry(exc=exc, countdown=min(3600, 30 * 2**self.request.retries)) from exc
        return f"failed: {exc.code}"
    if answer is None:
        return "nothing to refund"
    return f"refund {answer.refund.pk} {answer.refund.status}"


@shared_task
def reconcile_payments() -> list[dict]:
    """Daily: logs every order whose status disagrees with its payments (see payments.selectors)."""
    issues = payment_inconsistencies()
    for issue in issues:
        logger.error("payment reconciliation: %s", issue.as_line())
    if not issues:
        logger.info("payment reconciliation: no inconsistencies")
    return [issue.as_dict() for issue in issues]
