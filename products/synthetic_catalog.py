"""A generated catalog for the load benchmark (`manage.py import_products --synthetic N`).

Products SYN-000001, SYN-000002, ... in five categories under "synthetic". Each product's fields
depend only on its number, so every run and every catalog size holds the same rows: bench/prepare.py
relies on that to send the same requests to catalogs of 1,000, 10,000 and 100,000 products.

About a third of the products come in 2 to 6 variants, as a shop's catalog does: sizes (S-XL, the
large sizes a little dearer), colours, or both (SKUs SYN-000001-M-RED, SYN-000001-BLACK); the rest
are sold in one form, their one variant carrying the product's SKU. The variants' prices differ
slightly and their stocks independently; the products' price and stock follow from them
(products.services.product_refresh_derived, run for each batch).
"""

import random
from decimal import Decimal

from django.db import transaction
from django.utils.text import slugify

from .catalog_import import IN_CHUNK, ProgressCallback, refresh_planner_statistics
from .models import Category, Product, ProductVariant, variant_options_key
from .services import catalog_cache_bump, product_refresh_derived

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


def _flush(batch: list[tuple[Product, list[dict]]]) -> int:
    """Inserts a batch of products with their variants, in one short transaction."""
    if not batch:
        return 0
    products = [product for product, _variants in batch]
    with transaction.atomic():
        Product.objects.bulk_create(products, batch_size=len(products))
        if any(product.pk is None for product in products):  # a backend that returns no keys
            ids = {}
            for start in range(0, len(products), IN_CHUNK):
                chunk = [product.sku for product in products[start : start + IN_CHUNK]]
                ids.update(Product.objects.filter(sku__in=chunk).values_list("sku", "pk"))
            for product in products:
                product.pk = ids[product.sku]
        variants = [
            ProductVariant(product_id=product.pk, position=position, **values)
            for product, specs in batch
            for position, values in enumerate(specs)
        ]
        ProductVariant.objects.bulk_create(variants, batch_size=max(len(products), 1000))
        ids = [product.pk for product in products]
        for start in range(0, len(ids), IN_CHUNK):
            product_refresh_derived(product_ids=ids[start : start + IN_CHUNK])
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


SIZES = ["S", "M", "L", "XL"]
COLOURS = ["Black", "White", "Navy", "Red", "Green", "Grey", "Sand"]
WEIGHTS = [80, 150, 250, 400, 650, 900, 1200, 2500, 4000]
STOCKS = [0, 1, 2, 3, 5, 8, 12, 20, 35, 50, 100, 250]
MULTI_VARIANT_SHARE = 1 / 3


def _synthetic_product(i: int, sku: str, categories: list[Category]) -> tuple[Product, list[dict]]:
    """Product number `i` and its variants' fields; the same for the same `i`, whatever the count."""
    rng = random.Random(i)  # deterministic per SKU
    name = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {rng.choice(NOUNS)}"
    description = (
        f"The {name.lower()} is {rng.choice(FEATURES)} and {rng.choice(FEATURES)}. "
        f"Model {sku}, {rng.choice(['black', 'white', 'grey', 'blue', 'green', 'red', 'natural'])} finish."
    )
    price = Decimal(rng.randint(199, 99_999)) / 100
    stock = rng.choice(STOCKS)
    # Drawn after the fields above, so that those stay what they were before products had variants.
    weight = rng.choice(WEIGHTS)
    option_names, variants = [], [{"sku": sku, "price": price, "stock": stock, "weight_grams": weight, "options": {}}]
    if rng.random() < MULTI_VARIANT_SHARE:
        option_names, variants = _synthetic_variants(rng, sku, price, weight)
    for values in variants:
        values["options_key"] = variant_options_key(values["options"])
        values["name"] = " / ".join(values["options"][option] for option in option_names)
    product = Product(
        name=name,
        slug=f"{slugify(name)}-{sku.lower()}",
        sku=sku,
        description=description,
        # Until product_refresh_derived sets them from the variants: the lowest price is `price`.
        price=price,
        price_max=max(values["price"] for values in variants),
        stock=0,
        option_names=option_names,
        category=categories[i % len(categories)],
        is_featured=i % 50 == 0,
        is_active=True,
    )
    return product, variants


def _synthetic_variants(rng: random.Random, sku: str, price: Decimal, weight: int) -> tuple[list[str], list[dict]]:
    """2 to 6 variants: sizes (2 to 4 of S-XL in a row), colours (2 or 3) or 2 sizes x 2 or 3 colours.
    A size above M costs a little more and weighs a little more; a colour changes neither."""
    kind = rng.choice(["size", "colour", "both"])
    if kind == "size":
        count = rng.randint(2, 4)
        first = rng.randint(0, len(SIZES) - count)
        sizes, colours = SIZES[first : first + count], []
    elif kind == "colour":
        sizes, colours = [], rng.sample(COLOURS, rng.randint(2, 3))
    else:
        first = rng.randint(0, len(SIZES) - 2)
        sizes, colours = SIZES[first : first + 2], rng.sample(COLOURS, rng.randint(2, 3))
    option_names = [name for name, values in (("Size", sizes), ("Colour", colours)) if values]
    combinations = [
        {**({"Size": size} if size else {}), **({"Colour": colour} if colour else {})}
        for size in (sizes or [None])
        for colour in (colours or [None])
    ]
    variants = []
    for options in combinations:
        step = max(0, SIZES.index(options["Size"]) - 1) if "Size" in options else 0  # S and M: 0, L: 1, XL: 2
        variants.append(
            {
                "sku": "-".join([sku, *(value.upper() for value in options.values())]),
                "price": price + step * max(Decimal("1.00"), (price / 20).quantize(Decimal("0.01"))),
                "stock": rng.choice(STOCKS),
                "weight_grams": weight + step * 40,
                "options": options,
            }
        )
    return option_names, variants
