"""The demo shop's shipping zones, methods and tax rates, so that `make run` shows shipping and tax
at checkout with no setup. Writes nothing when any zone or rate exists already: staff edits are never
overwritten, and running it on every start is safe."""

from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from orders.models import ShippingMethod, ShippingZone, TaxRate

D = Decimal

# (zone name, countries, [(method, price, free_over, days_min, days_max, cod_allowed)])
ZONES = [
    (
        "United Kingdom",
        ["GB"],
        [
            ("Royal Mail 2nd Class", D("3.95"), D("50.00"), 2, 4, False),
            ("Next-day courier", D("7.95"), None, 1, 1, False),
        ],
    ),
    (
        "European Union",
        ["DE", "ES", "FR", "IE", "IT", "NL"],
        [("EU Standard", D("6.90"), D("80.00"), 3, 6, False)],
    ),
    (
        "United States",
        ["US"],
        [("USPS Ground", D("5.99"), D("75.00"), 3, 7, False), ("UPS 2nd Day Air", D("14.99"), None, 2, 2, False)],
    ),
    ("India", ["IN"], [("India Post (cash on delivery)", D("4.00"), None, 4, 8, True)]),
]

# (country, name, standard rate). The United States has no national sales tax: no rate (0).
STANDARD_RATES = [
    ("GB", "VAT 20%", D("0.20")),
    ("DE", "MwSt 19%", D("0.19")),
    ("ES", "IVA 21%", D("0.21")),
    ("FR", "TVA 20%", D("0.20")),
    ("IE", "VAT 23%", D("0.23")),
    ("IT", "IVA 22%", D("0.22")),
    ("NL", "BTW 21%", D("0.21")),
    ("IN", "GST 18%", D("0.18")),
]


class Command(BaseCommand):
    help = "Creates the demo shipping zones, methods and tax rates when the shop has none."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Print nothing when there is nothing to do.")

    def handle(self, *args, quiet=False, **options):
        if ShippingZone.objects.exists() or TaxRate.objects.exists():
            if not quiet:
                self.stdout.write("Shipping zones or tax rates exist already; nothing changed.")
            return
        with transaction.atomic():
            for position, (zone_name, countries, methods) in enumerate(ZONES):
                zone = ShippingZone.objects.create(name=zone_name, countries=countries, position=position)
                ShippingMethod.objects.bulk_create(
                    ShippingMethod(
                        zone=zone,
                        name=name,
                        price=price,
                        free_over=free_over,
                        delivery_days_min=days_min,
                        delivery_days_max=days_max,
                        cod_allowed=cod,
                        position=index,
                    )
                    for index, (name, price, free_over, days_min, days_max, cod) in enumerate(methods)
                )
            TaxRate.objects.bulk_create(
                TaxRate(country=country, name=name, rate=rate) for country, name, rate in STANDARD_RATES
            )
        self.stdout.write(
            f"Created {len(ZONES)} shipping zones, {sum(len(m) for _, _, m in ZONES)} methods and "
            f"{len(STANDARD_RATES)} tax rates."
        )
