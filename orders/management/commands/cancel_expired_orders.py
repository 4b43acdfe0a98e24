from django.core.management.base import BaseCommand

from orders.services import order_cancel_expired


class Command(BaseCommand):
    help = (
        "Cancels card orders left unpaid past ORDER_PAYMENT_TIMEOUT_MINUTES and cash-on-delivery orders "
        "left unconfirmed past COD_CONFIRMATION_HOURS, and puts their stock back."
    )

    def handle(self, *args, **options):
        cancelled = order_cancel_expired()
        self.stdout.write(f"Cancelled {cancelled} expired order(s).")
