"""The catalog import: a JSON file of categories and products, validated whole, then written at once.

Categories are created or updated by slug, products by SKU, and image files (paths relative to the
JSON file) are copied to the default storage only for products that have no image yet. The whole file
is validated before anything is written (`load_catalog`), and the import runs in one transaction
(`catalog_import`): a bad file writes nothing. Running it twice changes nothing the second time, which
is why `make run` can call `manage.py import_products` on every start.

File shape:
    {"categories": [{"slug", "name", "parent": slug|null, "description"?, "sort_order"?, "is_active"?}],
     "products": [{"sku", "name", "price": "19.99", "stock": 10, "category": slug|null, "description"?,
                   "is_featured"?, "is_active"?, "images"?: [{"path": "images/x.jpg", "alt"?}]}]}
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.contrib.humanize.templatetags.humanize import apnumber
from django.core.files import File
from django.core.validators import validate_slug
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from .models import Category, Product, ProductImage
from .services import catalog_cache_bump

# What the database holds us to, read from the models so that the checks and the columns agree.
CATEGORY_SLUG_MAX_LENGTH = Category._meta.get_field("slug").max_length
CATEGORY_NAME_MAX_LENGTH = Category._meta.get_field("name").max_length
PRODUCT_NAME_MAX_LENGTH = Product._meta.get_field("name").max_length
SKU_MAX_LENGTH = Product._meta.get_field("sku").max_length
# A product's slug is its name's, cut short enough to leave room for the "-2", "-3"... of a clash.
PRODUCT_SLUG_BASE_LENGTH = Product._meta.get_field("slug").max_length - 20
IMAGE_ALT_MAX_LENGTH = ProductImage._meta.get_field("alt_text").max_length
_PRICE_FIELD = Product._meta.get_field("price")
PRICE_DECIMAL_PLACES = _PRICE_FIELD.decimal_places
PRICE_INTEGER_DIGITS = _PRICE_FIELD.max_digits - _PRICE_FIELD.decimal_places
PRICE_STEP = Decimal(1).scaleb(-PRICE_DECIMAL_PLACES)  # 0.01
MAX_PRICE = Decimal(10) ** PRICE_INTEGER_DIGITS - PRICE_STEP  # 9999999999.99
# Slugs are checked with the validator SlugField runs, but without its messages.
SLUG_RE = validate_slug.regex

# Bounds of our own, not of the models (the database accepts more): a value beyond them is a mistake in
# the file, such as a price pasted into the stock column. The lower bounds of stock (0) and price (> 0)
# are the models' check constraints, checked here too so that the whole file is reported at once.
MAX_STOCK = 1_000_000_000  # the IntegerField column takes up to 2**31 - 1 on PostgreSQL
MAX_SORT_ORDER = 1_000_000  # likewise for the PositiveIntegerField
MAX_DESCRIPTION_LENGTH = 20_000  # TextField has no limit
MAX_IMAGE_PATH_LENGTH = 500  # a path on the importing machine; the stored name is products/<id>/<file>
MAX_REPORTED_ERRORS = 20  # enough to fix a file in a few rounds without burying the first problem
IN_CHUNK = 900  # ids per `__in` query: stays under SQLite's bound-parameter limit

PRODUCT_FIELDS = ("name", "description", "price", "stock", "category_id", "is_featured", "is_active")
CATEGORY_FIELDS = ("name", "description", "sort_order", "is_active", "parent_id")

# Called as progress(done, total) after each row a long import goes through, for a progress display.
ProgressCallback = Callable[[int, int], None]


class CatalogInvalid(Exception):
    """A catalog file that cannot be imported; nothing was written. `errors` lists the problems found
    (a single one when the file cannot be read as a catalog at all); str() is the report to show."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.errors = errors if errors is not None else [message]


@dataclass
class ImportStats:
    categories_created: int = 0
    categories_updated: int = 0
    products_created: int = 0
    products_updated: int = 0
    products_unchanged: int = 0
    images_copied: int = 0

    @property
    def changed(self) -> bool:
        return any(
            (
                self.categories_created,
                self.categories_updated,
                self.products_created,
                self.products_updated,
                self.images_copied,
            )
        )


@dataclass
class CatalogFile:
    base_dir: Path
    categories: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)


# --- Validation --------------------------------------------------------------------------------


def _objects(records: list, label: str, errors: list):
    """(where, record) for each record of the list that is an object; an error for each one that is not."""
    for index, record in enumerate(records):
        where = f"{label}[{index}]"
        if isinstance(record, dict):
            yield where, record
        else:
            errors.append(f"{where}: must be an object")


def _text(record: dict, key: str, errors: list, where: str, *, required: bool, max_length: int) -> str:
    value = record.get(key)
    if value is None:
        if required:
            errors.append(f"{where}: missing field '{key}'")
        return ""
    if not isinstance(value, str):
        errors.append(f"{where}: '{key}' must be a string")
        return ""
    value = value.strip()
    if required and not value:
        errors.append(f"{where}: '{key}' must not be empty")
    if len(value) > max_length:
        errors.append(f"{where}: '{key}' is longer than {max_length} characters")
    return value


def _bool(record: dict, key: str, errors: list, where: str, default: bool) -> bool:
    value = record.get(key, default)
    if not isinstance(value, bool):
        errors.append(f"{where}: '{key}' must be true or false")
        return default
    return value


def _int(record: dict, key: str, errors: list, where: str, *, default=None, minimum=0, maximum=MAX_STOCK):
    if key not in record:
        if default is None:
            errors.append(f"{where}: missing field '{key}'")
        return default or 0
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(f"{where}: '{key}' must be an integer")
        return 0
    if value < minimum or value > maximum:
        errors.append(f"{where}: '{key}' must be between {minimum} and {maximum}, got {value}")
    return value


def _price(record: dict, errors: list, where: str) -> Decimal:
    if "price" not in record:
        errors.append(f"{where}: missing field 'price'")
        return Decimal("0")
    raw = record["price"]
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        errors.append(f"{where}: 'price' must be a decimal string such as \"19.99\"")
        return Decimal("0")
    try:
        price = Decimal(str(raw))
    except InvalidOperation:
        errors.append(f"{where}: 'price' is not a number: {raw!r}")
        return Decimal("0")
    if not price.is_finite() or price <= 0:
        errors.append(f"{where}: 'price' must be greater than zero, got {raw}")
    elif price > MAX_PRICE or price != price.quantize(PRICE_STEP):
        errors.append(  # apnumber spells 2 as "two", as this message has always read
            f"{where}: 'price' must have at most {apnumber(PRICE_DECIMAL_PLACES)} decimal places "
            f"and {PRICE_INTEGER_DIGITS} digits before them"
        )
    # Only a price within the field's bounds is rounded: quantize refuses one with too many digits.
    return price.quantize(PRICE_STEP) if price.is_finite() and 0 < price <= MAX_PRICE else Decimal("0")


def load_catalog(path: Path) -> CatalogFile:
    """Reads and validates the whole file; raises CatalogInvalid listing what is wrong. Writes nothing."""
    if not path.is_file():
        raise CatalogInvalid(f"Catalog file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CatalogInvalid(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogInvalid(f"{path}: the top level must be an object with 'categories' and 'products'")
    errors: list[str] = []
    raw_categories = data.get("categories", [])
    raw_products = data.get("products")
    if not isinstance(raw_categories, list):
        errors.append("'categories' must be a list")
        raw_categories = []
    if not isinstance(raw_products, list):
        errors.append("missing list 'products'")
        raw_products = []

    catalog = CatalogFile(base_dir=path.resolve().parent)
    file_slugs: set[str] = set()
    for where, record in _objects(raw_categories, "categories", errors):
        slug = _text(record, "slug", errors, where, required=True, max_length=CATEGORY_SLUG_MAX_LENGTH)
        if slug and not SLUG_RE.match(slug):
            errors.append(f"{where}: 'slug' may contain only letters, digits, '-' and '_'")
        if slug in file_slugs:
            errors.append(f"{where}: duplicate category slug '{slug}'")
        file_slugs.add(slug)
        parent = record.get("parent")
        if parent is not None and not isinstance(parent, str):
            errors.append(f"{where}: 'parent' must be a category slug or null")
            parent = None
        catalog.categories.append(
            {
                "slug": slug,
                "name": _text(record, "name", errors, where, required=True, max_length=CATEGORY_NAME_MAX_LENGTH),
                "parent": parent or None,
                "description": _text(
                    record, "description", errors, where, required=False, max_length=MAX_DESCRIPTION_LENGTH
                ),
                "sort_order": _int(record, "sort_order", errors, where, default=0, maximum=MAX_SORT_ORDER),
                "is_active": _bool(record, "is_active", errors, where, True),
            }
        )

    known_slugs = file_slugs | set(Category.objects.values_list("slug", flat=True))
    for index, category in enumerate(catalog.categories):
        if category["parent"] and category["parent"] not in known_slugs:
            errors.append(f"categories[{index}]: unknown parent '{category['parent']}'")
    if not errors:
        try:
            catalog.categories = _parents_first(catalog.categories)
        except ValueError as exc:
            errors.append(str(exc))

    skus: set[str] = set()
    for where, record in _objects(raw_products, "products", errors):
        sku = _text(record, "sku", errors, where, required=True, max_length=SKU_MAX_LENGTH)
        if sku in skus:
            errors.append(f"{where}: duplicate SKU '{sku}'")
        skus.add(sku)
        category = record.get("category")
        if category is not None and (not isinstance(category, str) or category not in known_slugs):
            errors.append(f"{where}: unknown category {category!r}")
        images = []
        raw_images = record.get("images", [])
        if not isinstance(raw_images, list):
            errors.append(f"{where}: 'images' must be a list")
            raw_images = []
        for image_where, image in _objects(raw_images, f"{where}.images", errors):
            image_path = _text(image, "path", errors, image_where, required=True, max_length=MAX_IMAGE_PATH_LENGTH)
            if image_path and not (catalog.base_dir / image_path).is_file():
                errors.append(f"{image_where}: image file not found: {image_path}")
            images.append(
                {
                    "path": image_path,
                    "alt": _text(image, "alt", errors, image_where, required=False, max_length=IMAGE_ALT_MAX_LENGTH),
                }
            )
        catalog.products.append(
            {
                "sku": sku,
                "name": _text(record, "name", errors, where, required=True, max_length=PRODUCT_NAME_MAX_LENGTH),
                "description": _text(
                    record, "description", errors, where, required=False, max_length=MAX_DESCRIPTION_LENGTH
                ),
                "price": _price(record, errors, where),
                "stock": _int(record, "stock", errors, where),
                "category": category,
                "is_featured": _bool(record, "is_featured", errors, where, False),
                "is_active": _bool(record, "is_active", errors, where, True),
                "images": images,
            }
        )
        if len(errors) > MAX_REPORTED_ERRORS:
            break

    if errors:
        shown = "\n  ".join(errors[:MAX_REPORTED_ERRORS])
        more = (
            f"\n  ... and more ({len(errors) - MAX_REPORTED_ERRORS} not shown)"
            if len(errors) > MAX_REPORTED_ERRORS
            else ""
        )
        raise CatalogInvalid(f"{path} is not a valid catalog; nothing was imported:\n  {shown}{more}", errors)
    return catalog


def _parents_first(categories: list[dict]) -> list[dict]:
    by_slug = {c["slug"]: c for c in categories}
    ordered, state = [], {}

    def visit(slug: str, trail: tuple) -> None:
        if state.get(slug) == "done":
            return
        if slug in trail:
            raise ValueError(f"categories: parent cycle through {' -> '.join((*trail, slug))}")
        category = by_slug[slug]
        if category["parent"] in by_slug:
            visit(category["parent"], (*trail, slug))
        state[slug] = "done"
        ordered.append(category)

    for slug in by_slug:
        visit(slug, ())
    return ordered


# --- Import ------------------------------------------------------------------------------------


def catalog_import(*, catalog: CatalogFile, progress: ProgressCallback | None = None) -> ImportStats:
    """Writes a catalog that `load_catalog` validated, in one transaction: categories created or
    updated by slug (parents first), products by SKU, images copied only to products that have none
    yet. A row whose fields already match is not written at all (`updated_at` stays), so importing the
    same catalog again changes nothing. When anything changed, the anonymous catalog cache is bumped
    and the planner statistics refreshed. `progress(done, total)` follows the product rows.

    Raises nothing of its own (the catalog is already valid); a database error rolls back every row
    (image files already copied to the storage stay there).
    """
    stats = ImportStats()
    with transaction.atomic():
        categories = _import_categories(catalog, stats)
        products = _import_products(catalog, categories, stats, progress)
        _import_images(catalog, products, stats)
    if stats.changed:
        catalog_cache_bump()
        refresh_planner_statistics()
    return stats


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unique_slug(name: str, taken: set[str]) -> str:
    base = (slugify(name) or "product")[:PRODUCT_SLUG_BASE_LENGTH].strip("-") or "product"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def _import_categories(catalog: CatalogFile, stats: ImportStats) -> dict[str, Category]:
    existing = {c.slug: c for c in Category.objects.all()}
    for record in catalog.categories:
        parent = existing.get(record["parent"]) if record["parent"] else None
        wanted = {
            "name": record["name"],
            "description": record["description"],
            "sort_order": record["sort_order"],
            "is_active": record["is_active"],
            "parent_id": parent.pk if parent else None,
        }
        category = existing.get(record["slug"])
        if category is None:
            existing[record["slug"]] = Category.objects.create(slug=record["slug"], **wanted)
            stats.categories_created += 1
            continue
        changed = [name for name in CATEGORY_FIELDS if getattr(category, name) != wanted[name]]
        if changed:
            for name in changed:
                setattr(category, name, wanted[name])
            category.save(update_fields=[*changed, "updated_at"])
            stats.categories_updated += 1
    return existing


def _import_products(
    catalog: CatalogFile, categories: dict, stats: ImportStats, progress: ProgressCallback | None
) -> dict[str, Product]:
    skus = [record["sku"] for record in catalog.products]
    existing: dict[str, Product] = {}
    for chunk in _chunks(skus, IN_CHUNK):
        existing.update({p.sku: p for p in Product.objects.filter(sku__in=chunk)})
    taken_slugs: set[str] | None = None
    to_create, to_update, update_fields = [], [], set()
    for done, record in enumerate(catalog.products, start=1):
        category = categories.get(record["category"]) if record["category"] else None
        wanted = {
            "name": record["name"],
            "description": record["description"],
            "price": record["price"],
            "stock": record["stock"],
            "category_id": category.pk if category else None,
            "is_featured": record["is_featured"],
            "is_active": record["is_active"],
        }
        product = existing.get(record["sku"])
        if product is None:
            if taken_slugs is None:
                taken_slugs = set(Product.objects.values_list("slug", flat=True))
            product = Product(sku=record["sku"], slug=_unique_slug(record["name"], taken_slugs), **wanted)
            to_create.append(product)
        else:
            changed = [name for name in PRODUCT_FIELDS if getattr(product, name) != wanted[name]]
            if changed:
                for name in changed:
                    setattr(product, name, wanted[name])
                product.updated_at = timezone.now()  # bulk_update does not touch auto_now fields
                to_update.append(product)
                update_fields.update(changed)
            else:
                stats.products_unchanged += 1
        if progress is not None:
            progress(done, len(catalog.products))
    for chunk in _chunks(to_create, 1000):
        Product.objects.bulk_create(chunk)
    if to_update:
        Product.objects.bulk_update(to_update, [*sorted(update_fields), "updated_at"], batch_size=500)
    stats.products_created, stats.products_updated = len(to_create), len(to_update)
    if to_create:  # primary keys for the images (not every backend returns them from bulk_create)
        for chunk in _chunks([p.sku for p in to_create], IN_CHUNK):
            existing.update({p.sku: p for p in Product.objects.filter(sku__in=chunk)})
    return existing


def _import_images(catalog: CatalogFile, products: dict[str, Product], stats: ImportStats) -> None:
    wanting = [record for record in catalog.products if record["images"]]
    if not wanting:
        return
    ids = [products[record["sku"]].pk for record in wanting]
    with_images: set[int] = set()
    for chunk in _chunks(ids, IN_CHUNK):
        with_images.update(ProductImage.objects.filter(product_id__in=chunk).values_list("product_id", flat=True))
    for record in wanting:
        product = products[record["sku"]]
        if product.pk in with_images:
            continue
        for position, entry in enumerate(record["images"]):
            source = catalog.base_dir / entry["path"]
            image = ProductImage(product=product, alt_text=entry["alt"] or product.name, position=position)
            with source.open("rb") as handle:
                image.image.save(source.name, File(handle), save=False)
            image.save()
            stats.images_copied += 1


def refresh_planner_statistics() -> None:
    """After a bulk load PostgreSQL's statistics describe the old tables: it then picks a parallel
    sequential scan for a search count over the search index (10x slower at 100,000 products), and
    the index-only count scans visit the heap. VACUUM ANALYZE fixes both; VACUUM cannot run inside a
    transaction, so within one (e.g. a test) only ANALYZE runs. Nothing to do on other databases."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in (Product, ProductImage, Category))
    with connection.cursor() as cursor:
        cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM ANALYZE'} {tables}")
