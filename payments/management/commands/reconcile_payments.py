"""`manage.py reconcile_payments [--stripe] [--days N]`

Prints one line per order whose status disagrees with its payments and exits with status 1 when
there is any; prints a one-line all-clear and exits 0 on a consistent database.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.gateways import get_gateway
from payments.selectors import payment_inconsistencies


class Command(BaseCommand):
    help = "Reports orders whose status disagrees with their payments (exit status 1 when any do)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stripe", action="store_true", help="Also compare recent payments with what Stripe reports."
        )
        parser.add_argument(
            "--days", type=int, default=30, help="With --stripe: how many days of payments to check (default 30)."
        )

    def handle(self, *args, stripe=False, days=30, **options):
        gateway = None
        if stripe:
            if settings.PAYMENT_GATEWAY != "stripe":
                raise CommandError("--stripe needs the Stripe gateway (set STRIPE_SECRET_KEY).")
            gateway = get_gateway()
        issues = payment_inconsistencies(gateway=gateway, days=days)
        if not issues:
            scope = " and Stripe" if stripe else ""
            self.stdout.write(f"Payments reconciled: orders{scope} agree, no inconsistencies.")
            return
        for issue in issues:
            self.stdout.write(f"INCONSISTENT {issue.as_line()}")
        raise CommandError(f"{len(issues)} payment inconsistencies found.", returncode=1)
