"""The synthetic catalog the bench measures.

The catalog app's `import_products --synthetic N` is the source of truth; the bench calls it when
it is there. Until that command exists in the tree (or when it does not accept `--synthetic`), this
module builds the same kind of catalog itself: deterministic SKUs SYN-000001..., a two-level
category tree, prices and stock from a seeded generator, one image URL per product, in bulk.
"""

import random
from decimal import Decimal

from django.core.management import get_commands, load_command_class
from django.db import transaction

WORDS = (  # noqa: SIM905 - a word list reads better as prose
    "alpine amber arctic aurora basic bold breeze canyon cedar classic coastal cobalt comfort compact "
    "copper coral crystal daily deluxe desert eco elite essential everyday fjord flex forest fresh "
    "glacier harbor heritage horizon indigo ivory jade lagoon light linen lunar maple meadow metro "
    "midnight mineral misty modern nordic oasis ocean onyx orbit pacific pebble pine polar prairie "
    "prime pro quartz rapid ridge river sage sierra silver slate smart solar sonic spruce storm "
    "summit sunset terra timber titan tundra urban valley velvet vintage vista willow zen"
).split()
NOUNS = (  # noqa: SIM905
    "backpack blender bottle boots cap chair charger desk drone headphones jacket kettle lamp laptop "
    "mat monitor mug notebook pan pillow rug scarf shirt shoes shorts socks speaker stool sweater "
    "table tent towel watch"
).split()
ROOTS = ("Electronics", "Home", "Kitchen", "Outdoor", "Clothing", "Sports", "Office", "Toys")
CHILDREN = ("Essentials", "Premium", "Accessories", "Bundles")


def synthetic_command_available() -> bool:
    if "import_products" not in get_commands():
        return False
    command = load_command_class(get_commands()["import_products"], "import_products")
    parser = command.create_parser("manage.py", "import_products")
    return any("--synthetic" in action.option_strings for action in parser._actions)


@transaction.atomic
def build_synthetic_catalog(count: int, *, seed: int = 20240601) -> None:
    """Creates the category tree and `count` products with SKUs SYN-000001..SYN-<count>."""
    from products.models import Category, Product, ProductImage

    rng = random.Random(seed)
    categories = []
    for root_index, root_name in enumerate(ROOTS):
        root = Category.objects.create(name=root_name, slug=root_name.lower(), sort_order=root_index)
        categories.append(root)
        for child_index, child_name in enumerate(CHILDREN):
            categories.append(
                Category.objects.create(
                    name=f"{root_name} {child_name}",
                    slug=f"{root_name.lower()}-{child_name.lower()}",
                    parent=root,
                    sort_order=child_index,
                )
            )
    batch = []
    for index in range(1, count + 1):
        adjective, colour, noun = rng.choice(WORDS), rng.choice(WORDS), rng.choice(NOUNS)
        name = f"{adjective.title()} {colour.title()} {noun.title()} {index}"
        batch.append(
            Product(
                name=name,
                slug=f"syn-{index:06d}",
                sku=f"SYN-{index:06d}",
                description=f"A {adjective} {noun} in {colour}, synthetic product number {index}.",
                price=Decimal(rng.randint(199, 99999)) / 100,
                stock=rng.choice((0, 3, 10, 25, 50, 100, 250)),
                category=categories[index % len(categories)],
                is_featured=index % 50 == 0,
                rating_avg=Decimal(rng.randint(0, 500)) / 100,
                rating_count=rng.randint(0, 200),
            )
        )
        if len(batch) == 2000:
            _flush(batch, Product, ProductImage)
            batch = []
    if batch:
        _flush(batch, Product, ProductImage)


def _flush(batch, product_model, image_model) -> None:
    created = product_model.objects.bulk_create(batch)
    image_model.objects.bulk_create(
        image_model(
            product_id=product.pk,
            external_url=f"https://img.example.com/products/{product.sku.lower()}.jpg",
            alt_text=product.name,
        )
        for product in created
    )
