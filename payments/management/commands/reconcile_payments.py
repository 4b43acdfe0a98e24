"""`manage.py reconcile_payments [--stripe | --razorpay] [--days N]`

Prints one line per order whose status disagrees with its payments and exits with status 1 when
there is any; prints a one-line all-clear and exits 0 on a consistent database. `--stripe` or
`--razorpay` also compares recent payments with what that provider (which must be the configured
gateway) reports.
"""

import argparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.gateways import get_gateway
from payments.selectors import payment_inconsistencies

PROVIDERS = {
    "stripe": ("Stripe", "set STRIPE_SECRET_KEY"),
    "razorpay": ("Razorpay", "set PAYMENT_GATEWAY=razorpay and its keys"),
}
# A window of 0 or fewer days checks no payment (and would print the all-clear); past ~2.7 million
# days the date arithmetic overflows. Ten years is more than any provider keeps answering about.
MAX_DAYS = 3650


def days_window(raw: str) -> int:
    """`--days`: a whole number of days from 1 to MAX_DAYS (argparse turns the error into a usage error)."""
    try:
        days = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number of days") from None
    if not 1 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{days} is not between 1 and {MAX_DAYS} days")
    return days


class Command(BaseCommand):
    help = "Reports orders whose status disagrees with their payments (exit status 1 when any do)."

    def add_arguments(self, parser):
        providers = parser.add_mutually_exclusive_group()
        for name, (label, _) in PROVIDERS.items():
            providers.add_argument(
                f"--{name}", action="store_true", help=f"Also compare recent payments with what {label} reports."
            )
        parser.add_argument(
            "--days",
            type=days_window,
            default=30,
            help=f"With a provider: how many days of payments to check (1 to {MAX_DAYS}, default 30).",
        )

    def handle(self, *args, days=30, **options):
        provider = next((name for name in PROVIDERS if options.get(name)), None)
        gateway = None
        if provider is not None:
            label, how = PROVIDERS[provider]
            if provider != settings.PAYMENT_GATEWAY:
                raise CommandError(f"--{provider} needs the {label} gateway ({how}).")
            gateway = get_gateway()
        issues = payment_inconsistencies(gateway=gateway, days=days)
        if not issues:
            scope = f" and {PROVIDERS[provider][0]}" if provider else ""
            self.stdout.write(f"Payments reconciled: orders{scope} agree, no inconsistencies.")
            return
        for issue in issues:
            self.stdout.write(f"INCONSISTENT {issue.as_line()}")
        raise CommandError(f"{len(issues)} payment inconsistencies found.", returncode=1)
