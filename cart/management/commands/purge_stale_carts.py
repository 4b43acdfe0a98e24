from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cart.services import cart_purge_stale


class Command(BaseCommand):
    help = "Deletes anonymous carts untouched for CART_TTL_DAYS days (or --days)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help=f"default: {settings.CART_TTL_DAYS}")

    def handle(self, *args, days=None, **options):
        if days is not None and days < 0:
            raise CommandError("--days must be zero or more.")
        purged = cart_purge_stale(ttl_days=days)
        self.stdout.write(f"Purged {purged} stale anonymous cart(s).")
