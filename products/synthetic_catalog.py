"""A generated catalog for the load benchmark (`manage.py import_products --synthetic N`).

Products SYN-000001, SYN-000002, ... in five categories under "synthetic". Each product's fields
depend only on its number, so every run and every catalog size holds the same rows: bench/prepare.py
relies on that to send the same requests to catalogs of 1,000, 10,000 and 100,000 products.
"""

import random
from decimal import Decimal

from django.db import transaction
from django.utils.text import slugify

from .catalog_import import ProgressCallback, refresh_planner_statistics
from .models import Category, Product
from .services import catalog_cache_bump

SKU_PREFIX = "SYN-"


def synthetic_catalog_generate(*, count: int, batch_size: int, progress: ProgressCallback | None = None) -> int:
    """Makes sure products SYN-1 ... SYN-`count` (numbers zero-padded to six digits at least) exist,
    inserting the missing ones `batch_size` rows at a time, each batch in its own short transaction;
    existing SKUs are skipped, so a second run, or a larger count, only adds what is missing. When
    anything was created, the anonymous catalog cache is bumped and the planner statistics refreshed.
    `progress(done, total)` follows the numbers. Returns how many products were created.

    Raises nothing of its own; a database error leaves the batches already committed in place.
    """
    categories = _synthetic_categories()
    existing = set(Product.objects.filter(sku__startswith=SKU_PREFIX).values_list("sku", flat=True))
    width = max(6, len(str(count)))
    batch, created = [], 0
    for i in range(1, count + 1):
        sku = f"{SKU_PREFIX}{i:0{width}d}"
        if sku not in existing:
            batch.append(_synthetic_product(i, sku, categories))
        if len(batch) >= batch_size:
            created += _flush(batch)
        if progress is not None:
            progress(i, count)
    created += _flush(batch)
    if created:
        catalog_cache_bump()
        refresh_planner_statistics()
    return created


def _flush(batch: list) -> int:
    if not batch:
        return 0
    with transaction.atomic():
        Product.objects.bulk_create(batch, batch_size=len(batch))
    n = len(batch)
    batch.clear()
    return n


def _synthetic_categories() -> list[Category]:
    root, _ = Category.objects.get_or_create(
        slug="synthetic", defaults={"name": "Synthetic catalog", "sort_order": 1000}
    )
    result = []
    for position, (slug, name) in enumerate(SYNTHETIC_CATEGORIES):
        category, _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "parent": root, "sort_order": position}
        )
        result.append(category)
    return result


SYNTHETIC_CATEGORIES = [
    ("syn-gadgets", "Gadgets"),
    ("syn-home", "Home Goods"),
    ("syn-outdoor", "Outdoor Gear"),
    ("syn-apparel", "Apparel"),
    ("syn-toys", "Toys & Games"),
]
ADJECTIVES = [
    "Classic",
    "Compact",
    "Deluxe",
    "Eco",
    "Essential",
    "Foldable",
    "Heavy-Duty",
    "Lightweight",
    "Modern",
    "Portable",
    "Premium",
    "Pro",
    "Rugged",
    "Slim",
    "Smart",
    "Vintage",
    "Wireless",
    "Waterproof",
]
MATERIALS = [
    "Aluminium",
    "Bamboo",
    "Canvas",
    "Ceramic",
    "Cotton",
    "Glass",
    "Leather",
    "Linen",
    "Oak",
    "Recycled",
    "Silicone",
    "Steel",
    "Titanium",
    "Walnut",
    "Wool",
]
NOUNS = [
    "Backpack",
    "Bottle",
    "Charger",
    "Chair",
    "Clock",
    "Desk Lamp",
    "Headphones",
    "Jacket",
    "Kettle",
    "Keyboard",
    "Lantern",
    "Mug",
    "Notebook",
    "Organizer",
    "Pan",
    "Puzzle",
    "Speaker",
    "Tent",
    "Tote Bag",
    "Watch",
]
FEATURES = [
    "built to last",
    "easy to clean",
    "perfect for travel",
    "a customer favourite",
    "designed for everyday use",
    "made from responsibly sourced materials",
    "backed by a two-year warranty",
    "great as a gift",
]


def _synthetic_product(i: int, sku: str, categories: list[Category]) -> Product:
    rng = random.Random(i)  # deterministic per SKU
    name = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {rng.choice(NOUNS)}"
    description = (
        f"The {name.lower()} is {rng.choice(FEATURES)} and {rng.choice(FEATURES)}. "
        f"Model {sku}, {rng.choice(['black', 'white', 'grey', 'blue', 'green', 'red', 'natural'])} finish."
    )
    return Product(
        name=name,
        slug=f"{slugify(name)}-{sku.lower()}",
        sku=sku,
        description=description,
        price=Decimal(rng.randint(199, 99_999)) / 100,
        stock=rng.choice([0, 1, 2, 3, 5, 8, 12, 20, 35, 50, 100, 250]),
        category=categories[i % len(categories)],
        is_featured=i % 50 == 0,
        is_active=True,
    )
