"""The catalog import: a JSON file of categories and products, validated whole, then written at once.

Categories are created or updated by slug, products by SKU, their variants by SKU, and image files
(paths relative to the JSON file) are copied to the default storage only for products that have no
image yet. The whole file is validated before anything is written (`load_catalog`), and the import runs
in one transaction (`catalog_import`): a bad file writes nothing. Running it twice changes nothing the
second time, which is why `make run` can call `manage.py import_products` on every start.

File shape:
    {"categories": [{"slug", "name", "parent": slug|null, "description"?, "sort_order"?, "is_active"?}],
     "products": [{"sku", "name", "category": slug|null, "description"?, "is_featured"?, "is_active"?,
                   "images"?: [{"path": "images/x.jpg", "alt"?}],
                   # sold in one form: its one variant carries the product's SKU
                   "price": "19.99", "stock": 10, "weight_grams"?: 250,
                   # or in several (then no product-level price, stock or weight_grams: an error if given)
                   "options"?: ["Size", "Colour"],  # display order; else the first variant's keys in order
                   "variants": [{"sku", "price": "19.99", "stock"?: 10, "weight_grams"?: 250,
                                 "options": {"Size": "M", "Colour": "Red"}, "is_active"?: true,
                                 "image"?: 0}]}]}  # index into the product's "images"

Variants: every variant names the same options (at most PRODUCT_MAX_OPTIONS; names and values 1 to 100
characters), each combination once, at most PRODUCT_MAX_VARIANTS per product; a variant SKU is new to
the file and is no other product's or other product's variant's in the database (the product's own SKU
only for its only variant). A product-level price or stock beside `variants` is refused rather than
ignored: whoever wrote it meant something, and a price that silently does nothing is a wrong price on
the shop. On a re-import the file is the truth for what it says: a variant's price, options,
is_active and position are the file's, and so are its stock and weight when given (the stock, as for
products before variants, is set to the file's count, not added to; without "stock" it stays), and
its image when given. Variants the file does not list are left as they are, never deactivated or
deleted: a partial file must not take forms off sale (use "is_active": false); they must still fit the
file's options, which is why the import does not turn a product sold in one form into one with
variants or back (the API and the admin do).
"""

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import apnumber
from django.core.files import File
from django.core.validators import validate_slug
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from .models import Category, Product, ProductImage, ProductVariant, variant_options_key
from .services import catalog_cache_bump, product_refresh_derived

# What the database holds us to, read from the models so that the checks and the columns agree.
CATEGORY_SLUG_MAX_LENGTH = Category._meta.get_field("slug").max_length
CATEGORY_NAME_MAX_LENGTH = Category._meta.get_field("name").max_length
PRODUCT_NAME_MAX_LENGTH = Product._meta.get_field("name").max_length
SKU_MAX_LENGTH = Product._meta.get_field("sku").max_length
# A product's slug is its name's, cut short enough to leave room for the "-2", "-3"... of a clash.
PRODUCT_SLUG_BASE_LENGTH = Product._meta.get_field("slug").max_length - 20
IMAGE_ALT_MAX_LENGTH = ProductImage._meta.get_field("alt_text").max_length
VARIANT_NAME_MAX_LENGTH = ProductVariant._meta.get_field("name").max_length
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
MAX_WEIGHT_GRAMS = 1_000_000  # a tonne: past it, a weight in the wrong unit
OPTION_TEXT_MAX_LENGTH = 100  # option names and values, as products.services takes them from the API
MAX_REPORTED_ERRORS = 20  # enough to fix a file in a few rounds without burying the first problem
IN_CHUNK = 900  # ids per `__in` query: stays under SQLite's bound-parameter limit

# A product's price and stock are its variants' (products.services.product_refresh_derived): not written here.
PRODUCT_FIELDS = ("name", "description", "category_id", "is_featured", "is_active", "option_names")
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
    """What an import wrote. A product counts as updated when its row or any of its variants changed."""

    categories_created: int = 0
    categories_updated: int = 0
    products_created: int = 0
    products_updated: int = 0
    products_unchanged: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    variants_unchanged: int = 0
    images_copied: int = 0

    @property
    def changed(self) -> bool:
        return any(
            (
                self.categories_created,
                self.categories_updated,
                self.products_created,
                self.products_updated,
                self.variants_created,
                self.variants_updated,
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


def _weight(record: dict, errors: list, where: str) -> int | None:
    """A weight in grams, or None when the record gives none (a variant's weight is then left as it is)."""
    if "weight_grams" not in record:
        return None
    return _int(record, "weight_grams", errors, where, maximum=MAX_WEIGHT_GRAMS)


def _single_variant(record: dict, sku: str, errors: list, where: str) -> dict:
    """The one variant of a product given in the flat form: the product's SKU, price and stock."""
    if "options" in record:
        errors.append(f"{where}: 'options' names the options of 'variants', and the product has none")
    return {
        "where": where,
        "sku": sku,
        "price": _price(record, errors, where),
        "stock": _int(record, "stock", errors, where),
        "weight_grams": _weight(record, errors, where),
        "options": {},
        "options_key": "",
        "name": "",
        "is_active": True,
        "image": None,
    }


def _option_name(name: str, errors: list, where: str) -> str:
    name = name.strip()
    if not name or len(name) > OPTION_TEXT_MAX_LENGTH or "=" in name or "|" in name:
        errors.append(
            f"{where}: option name {name!r} must be 1 to {OPTION_TEXT_MAX_LENGTH} characters, without '=' or '|'"
        )
    return name


def _option_names(record: dict, errors: list, where: str) -> list[str] | None:
    """The product's `options` (the option names in display order), or None when it gives none."""
    raw = record.get("options")
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw or not all(isinstance(name, str) for name in raw):
        errors.append(f'{where}: \'options\' must be a non-empty list of option names, such as ["Size", "Colour"]')
        return None
    names = [_option_name(name, errors, where) for name in raw]
    if len(set(names)) != len(names):
        errors.append(f"{where}: 'options' names an option twice")
    if len(names) > settings.PRODUCT_MAX_OPTIONS:
        errors.append(f"{where}: a product has at most {settings.PRODUCT_MAX_OPTIONS} options, got {len(names)}")
    return names


def _variant_options(record: dict, errors: list, where: str) -> dict[str, str]:
    """A variant's option values: {"Size": "M"}, names and values non-empty text (an integer value
    such as a shoe size is taken as text, as the API takes it)."""
    raw = record.get("options")
    if not isinstance(raw, dict) or not raw:
        errors.append(f'{where}: \'options\' must be an object of option names to values, such as {{"Size": "M"}}')
        return {}
    options: dict[str, str] = {}
    for raw_name, raw_value in raw.items():
        name = _option_name(raw_name, errors, where)
        if name in options:
            errors.append(f"{where}: option '{name}' is given twice")
        if isinstance(raw_value, bool) or not isinstance(raw_value, str | int):
            errors.append(f"{where}: the value of option '{name}' must be text")
            continue
        value = str(raw_value).strip()
        if not value or len(value) > OPTION_TEXT_MAX_LENGTH:
            errors.append(f"{where}: the value of option '{name}' must be 1 to {OPTION_TEXT_MAX_LENGTH} characters")
        options[name] = value
    if len(options) > settings.PRODUCT_MAX_OPTIONS:
        errors.append(f"{where}: a variant has at most {settings.PRODUCT_MAX_OPTIONS} options, got {len(options)}")
    return options


def _variant_name(options: dict, option_names: list[str]) -> str:
    """The option values in the product's option order, "M / Red" (as products.services names a variant)."""
    return " / ".join(options[name] for name in option_names if name in options)[:VARIANT_NAME_MAX_LENGTH]


def _spelled(options: dict) -> str:
    return ", ".join(f"{name}={value}" for name, value in options.items()) or "no options"


def _variants(
    record: dict, sku: str, image_count: int, sku_holders: dict[str, str], errors: list, where: str
) -> tuple[list[str], list[dict]]:
    """A product given with `variants`: (option names, variants). Every variant names the same options
    (the product's `options`, else those of the first variant, in its order), each combination and
    SKU appears once in the file, and a variant may share the product's SKU only as its only variant."""
    for key in ("price", "stock", "weight_grams"):
        if key in record:
            errors.append(f"{where}: '{key}' is given per variant when the product has 'variants'")
    raw = record["variants"]
    if not isinstance(raw, list) or not raw:
        errors.append(f"{where}: 'variants' must be a non-empty list")
        return [], []
    if len(raw) > settings.PRODUCT_MAX_VARIANTS:
        errors.append(f"{where}: a product has at most {settings.PRODUCT_MAX_VARIANTS} variants, got {len(raw)}")
        return [], []
    names = _option_names(record, errors, where)
    variants: list[dict] = []
    combinations: dict[str, str] = {}
    for variant_where, entry in _objects(raw, f"{where}.variants", errors):
        variant_sku = _text(entry, "sku", errors, variant_where, required=True, max_length=SKU_MAX_LENGTH)
        if variant_sku == sku and len(raw) > 1:
            errors.append(
                f"{variant_where}: SKU '{sku}' is the product's own; a variant may share it only as the "
                "product's only variant"
            )
        elif variant_sku in sku_holders and variant_sku != sku:
            errors.append(f"{variant_where}: duplicate SKU '{variant_sku}' (also {sku_holders[variant_sku]})")
        elif variant_sku:
            sku_holders[variant_sku] = variant_where
        options = _variant_options(entry, errors, variant_where)
        if names is None and options:
            names = list(options)
        elif options and set(options) != set(names or ()):
            errors.append(
                f"{variant_where}: options name {', '.join(options)}; every variant of the product names "
                f"{', '.join(names or ()) or 'the same options'}"
            )
        key = variant_options_key(options)
        if options and key in combinations:
            errors.append(f"{variant_where}: the combination {_spelled(options)} is also {combinations[key]}")
        combinations.setdefault(key, variant_where)
        image = entry.get("image")
        if image is not None and (
            isinstance(image, bool) or not isinstance(image, int) or not 0 <= image < image_count
        ):
            errors.append(
                f"{variant_where}: 'image' must be the index of one of the product's images (0 to {image_count - 1})"
                if image_count
                else f"{variant_where}: 'image' refers to the product's images, and it has none"
            )
            image = None
        variants.append(
            {
                "where": variant_where,
                "sku": variant_sku,
                "price": _price(entry, errors, variant_where),
                "stock": _int(entry, "stock", errors, variant_where) if "stock" in entry else None,
                "weight_grams": _weight(entry, errors, variant_where),
                "options": options,
                "options_key": key,
                "name": "",
                "is_active": _bool(entry, "is_active", errors, variant_where, True),
                "image": image,
            }
        )
    names = names or []
    for variant in variants:
        variant["name"] = _variant_name(variant["options"], names)
    return names, variants


def _check_against_database(products: list[dict], errors: list) -> None:
    """What the file alone cannot tell: its SKUs are not other products' or their variants' in the
    database, and the variants of an existing product that the file does not list (the import leaves
    them as they are) still fit beside the file's: the same option names, other combinations, within
    PRODUCT_MAX_VARIANTS, and an active product keeps a variant on sale."""
    skus = sorted({p["sku"] for p in products} | {v["sku"] for p in products for v in p["variants"]})
    product_of_sku: dict[str, int] = {}
    variant_of_sku: dict[str, tuple[int, str]] = {}  # sku -> (product id, product sku)
    for chunk in _chunks(skus, IN_CHUNK):
        product_of_sku.update(Product.objects.filter(sku__in=chunk).values_list("sku", "pk"))
        for variant_sku, product_id, product_sku in ProductVariant.objects.filter(sku__in=chunk).values_list(
            "sku", "product_id", "product__sku"
        ):
            variant_of_sku[variant_sku] = (product_id, product_sku)
    in_database: dict[int, list[tuple]] = defaultdict(list)
    matched = [product_of_sku[p["sku"]] for p in products if p["sku"] in product_of_sku]
    for chunk in _chunks(matched, IN_CHUNK):
        for row in (
            ProductVariant.objects.filter(product_id__in=chunk)
            .order_by("position", "pk")
            .values_list("product_id", "sku", "options", "options_key", "is_active")
        ):
            in_database[row[0]].append(row[1:])
    for product in products:
        where, product_id = product["where"], product_of_sku.get(product["sku"])
        listed = {variant["sku"] for variant in product["variants"]}
        if product["sku"] not in listed:
            holder = variant_of_sku.get(product["sku"])
            if holder is not None and holder[0] != product_id:
                errors.append(f"{where}: SKU '{product['sku']}' is a variant of product '{holder[1]}' in the database")
        for variant in product["variants"]:
            holder_id = product_of_sku.get(variant["sku"])
            if holder_id is not None and holder_id != product_id:
                errors.append(f"{variant['where']}: SKU '{variant['sku']}' is another product's in the database")
            holder = variant_of_sku.get(variant["sku"])
            if holder is not None and holder[0] != product_id:
                errors.append(
                    f"{variant['where']}: SKU '{variant['sku']}' is a variant of product '{holder[1]}' in the database"
                )
        kept = [row for row in in_database.get(product_id, ()) if row[0] not in listed]
        combinations = {variant["options_key"]: variant for variant in product["variants"]}
        for kept_sku, options, options_key, _is_active in kept:
            if set(options) != set(product["option_names"]):
                have = ", ".join(options) or "no options"
                want = ", ".join(product["option_names"]) or "none"
                errors.append(
                    f"{where}: its variant '{kept_sku}' in the database names {have} and the file {want}; "
                    "the import leaves the variants a file does not list as they are, so list it with the "
                    "file's options (a product sold in one form becomes one with variants, or back, through "
                    "the API or the admin)"
                )
                break
            if options_key in combinations:
                variant = combinations[options_key]
                errors.append(
                    f"{variant['where']}: the combination {_spelled(variant['options'])} is variant "
                    f"'{kept_sku}''s in the database, which the file does not list"
                )
        total = len(product["variants"]) + len(kept)
        if kept and total > settings.PRODUCT_MAX_VARIANTS:
            errors.append(
                f"{where}: with its {len(kept)} variants in the database that the file does not list it would "
                f"have {total}; a product has at most {settings.PRODUCT_MAX_VARIANTS} variants"
            )
        if kept and product["sku"] in listed and product["option_names"]:
            errors.append(
                f"{where}: SKU '{product['sku']}' is the product's own; a variant may share it only as the "
                "product's only variant, and the database holds others"
            )
        if (
            product["is_active"]
            and not any(v["is_active"] for v in product["variants"])
            and not any(k[3] for k in kept)
        ):
            errors.append(f"{where}: an active product needs at least one active variant")


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

    sku_holders: dict[str, str] = {}  # every SKU of the file (products' and variants') -> where it is
    valid_products: list[dict] = []
    for where, record in _objects(raw_products, "products", errors):
        errors_before = len(errors)
        sku = _text(record, "sku", errors, where, required=True, max_length=SKU_MAX_LENGTH)
        if sku in sku_holders:
            errors.append(f"{where}: duplicate SKU '{sku}' (also {sku_holders[sku]})")
        elif sku:
            sku_holders[sku] = where
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
        if "variants" in record:
            option_names, variants = _variants(record, sku, len(images), sku_holders, errors, where)
        else:
            option_names, variants = [], [_single_variant(record, sku, errors, where)]
        product = {
            "where": where,
            "sku": sku,
            "name": _text(record, "name", errors, where, required=True, max_length=PRODUCT_NAME_MAX_LENGTH),
            "description": _text(
                record, "description", errors, where, required=False, max_length=MAX_DESCRIPTION_LENGTH
            ),
            "category": category,
            "is_featured": _bool(record, "is_featured", errors, where, False),
            "is_active": _bool(record, "is_active", errors, where, True),
            "images": images,
            "option_names": option_names,
            "variants": variants,
        }
        catalog.products.append(product)
        if len(errors) == errors_before:
            valid_products.append(product)
        if len(errors) > MAX_REPORTED_ERRORS:
            break
    if len(errors) <= MAX_REPORTED_ERRORS:
        _check_against_database(valid_products, errors)

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
    yet, then each product's variants by SKU (created, or updated to what the file says; those the
    file does not list are left as they are) and the derived price and stock of every product whose
    variants changed (products.services.product_refresh_derived). A row whose fields already match
    is not written at all (`updated_at` stays), so importing the same catalog again changes nothing.
    When anything changed, the anonymous catalog cache is bumped and the planner statistics
    refreshed. `progress(done, total)` follows the product rows.

    Raises nothing of its own (the catalog is already valid); a database error rolls back every row
    (image files already copied to the storage stay there).
    """
    stats = ImportStats()
    with transaction.atomic():
        categories = _import_categories(catalog, stats)
        products, created, updated = _import_products(catalog, categories, stats, progress)
        image_ids = _import_images(catalog, products, stats)
        variants_changed = _import_variants(catalog, products, image_ids, stats)
        for chunk in _chunks(sorted(created | variants_changed), IN_CHUNK):
            product_refresh_derived(product_ids=chunk)
    stats.products_created = len(created)
    stats.products_updated = len((updated | variants_changed) - created)
    stats.products_unchanged = len(catalog.products) - stats.products_created - stats.products_updated
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
) -> tuple[dict[str, Product], set[int], set[int]]:
    """The product rows: (products by SKU, ids of those created, ids of those whose row changed)."""
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
            "category_id": category.pk if category else None,
            "is_featured": record["is_featured"],
            "is_active": record["is_active"],
            "option_names": record["option_names"],
        }
        product = existing.get(record["sku"])
        if product is None:
            if taken_slugs is None:
                taken_slugs = set(Product.objects.values_list("slug", flat=True))
            # A price the row's constraint accepts until product_refresh_derived sets the real ones.
            prices = [v["price"] for v in record["variants"] if v["is_active"]] or [
                v["price"] for v in record["variants"]
            ]
            product = Product(
                sku=record["sku"],
                slug=_unique_slug(record["name"], taken_slugs),
                price=min(prices),
                price_max=max(prices),
                **wanted,
            )
            to_create.append(product)
        else:
            changed = [name for name in PRODUCT_FIELDS if getattr(product, name) != wanted[name]]
            if changed:
                for name in changed:
                    setattr(product, name, wanted[name])
                product.updated_at = timezone.now()  # bulk_update does not touch auto_now fields
                to_update.append(product)
                update_fields.update(changed)
        if progress is not None:
            progress(done, len(catalog.products))
    for chunk in _chunks(to_create, 1000):
        Product.objects.bulk_create(chunk)
    if to_update:
        Product.objects.bulk_update(to_update, [*sorted(update_fields), "updated_at"], batch_size=500)
    if to_create:  # primary keys for the images (not every backend returns them from bulk_create)
        for chunk in _chunks([p.sku for p in to_create], IN_CHUNK):
            existing.update({p.sku: p for p in Product.objects.filter(sku__in=chunk)})
    created = {existing[p.sku].pk for p in to_create}
    return existing, created, {p.pk for p in to_update}


def _import_variants(
    catalog: CatalogFile, products: dict[str, Product], image_ids: dict[int, list[int]], stats: ImportStats
) -> set[int]:
    """Each product's variants, matched by SKU: a new SKU is a new variant (stock and weight 0 unless
    the file gives them), a known one gets the file's price, options, name, position (its place in
    the list), is_active, and its stock, weight and image when the file gives them. Variants the file
    does not list are left as they are (their name follows a new option order): taking a form off
    sale is an explicit `"is_active": false`, never a side effect of a shorter file. Returns the ids
    of the products whose variants changed."""
    ids = [products[record["sku"]].pk for record in catalog.products]
    current: dict[int, dict[str, ProductVariant]] = defaultdict(dict)
    for chunk in _chunks(ids, IN_CHUNK):
        for variant in ProductVariant.objects.filter(product_id__in=chunk):
            current[variant.product_id][variant.sku] = variant
    now = timezone.now()
    to_create: list[ProductVariant] = []
    # Grouped by the fields that changed, so each row is written only where it differs: a stock the
    # file does not give is never written back as the value read here (a checkout may take units now).
    to_update: dict[tuple[str, ...], list[ProductVariant]] = defaultdict(list)
    rekeyed: list[int] = []
    changed: set[int] = set()
    for record in catalog.products:
        product = products[record["sku"]]
        in_database = current.get(product.pk, {})
        for position, entry in enumerate(record["variants"]):
            wanted = {
                "price": entry["price"],
                "options": entry["options"],
                "options_key": entry["options_key"],
                "name": entry["name"],
                "is_active": entry["is_active"],
                "position": position,
            }
            for name in ("stock", "weight_grams"):
                if entry[name] is not None:
                    wanted[name] = entry[name]
            product_images = image_ids.get(product.pk, [])
            if entry["image"] is not None and entry["image"] < len(product_images):
                wanted["image_id"] = product_images[entry["image"]]
            variant = in_database.pop(entry["sku"], None)
            if variant is None:
                to_create.append(
                    ProductVariant(product_id=product.pk, sku=entry["sku"], **{"stock": 0, "weight_grams": 0, **wanted})
                )
                changed.add(product.pk)
                continue
            if variant.options_key != wanted["options_key"]:
                rekeyed.append(variant.pk)
            if _assign_changes(variant, wanted, to_update, now):
                changed.add(product.pk)
            else:
                stats.variants_unchanged += 1
        for variant in in_database.values():  # not in the file: left alone, but named in the new option order
            if _assign_changes(
                variant, {"name": _variant_name(variant.options, record["option_names"])}, to_update, now
            ):
                changed.add(product.pk)
    if rekeyed:
        # Combinations may swap between variants (S <-> M): park the changing keys first, so that the
        # unique (product, options_key) never sees two rows with one key in the middle of the update.
        parked = [ProductVariant(pk=pk, options_key=f"#{pk}") for pk in rekeyed]  # a real key is "" or holds "="
        ProductVariant.objects.bulk_update(parked, ["options_key"], batch_size=500)
    for fields, variants in to_update.items():
        ProductVariant.objects.bulk_update(variants, [*fields, "updated_at"], batch_size=500)
    for chunk in _chunks(to_create, 1000):
        ProductVariant.objects.bulk_create(chunk)
    stats.variants_created = len(to_create)
    stats.variants_updated = sum(len(variants) for variants in to_update.values())
    return changed


def _assign_changes(variant: ProductVariant, wanted: dict, to_update: dict, now) -> bool:
    """Sets the fields of `wanted` that differ and files the variant under them in `to_update`."""
    changed = tuple(sorted(name for name in wanted if getattr(variant, name) != wanted[name]))
    if not changed:
        return False
    for name in changed:
        setattr(variant, name, wanted[name])
    variant.updated_at = now  # bulk_update does not touch auto_now fields
    to_update[changed].append(variant)
    return True


def _import_images(catalog: CatalogFile, products: dict[str, Product], stats: ImportStats) -> dict[int, list[int]]:
    """Copies the file's images to the products that have none yet. Returns the image ids, in their
    order, of every product the file gives images for, which is what a variant's `image` index
    points into: on a product whose images the import copied, index i is the file's i-th image."""
    wanting = [record for record in catalog.products if record["images"]]
    image_ids: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks([products[record["sku"]].pk for record in wanting], IN_CHUNK):
        for product_id, image_id in (
            ProductImage.objects.filter(product_id__in=chunk)
            .order_by("product_id", "position", "pk")
            .values_list("product_id", "pk")
        ):
            image_ids[product_id].append(image_id)
    for record in wanting:
        product = products[record["sku"]]
        if product.pk in image_ids:
            continue
        for position, entry in enumerate(record["images"]):
            source = catalog.base_dir / entry["path"]
            image = ProductImage(product=product, alt_text=entry["alt"] or product.name, position=position)
            with source.open("rb") as handle:
                image.image.save(source.name, File(handle), save=False)
            image.save()
            image_ids[product.pk].append(image.pk)
            stats.images_copied += 1
    return image_ids


def refresh_planner_statistics() -> None:
    """After a bulk load PostgreSQL's statistics describe the old tables: it then picks a parallel
    sequential scan for a search count over the search index (10x slower at 100,000 products), and
    the index-only count scans visit the heap. VACUUM ANALYZE fixes both; VACUUM cannot run inside a
    transaction, so within one (e.g. a test) only ANALYZE runs. Nothing to do on other databases."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(
        connection.ops.quote_name(model._meta.db_table) for model in (Product, ProductVariant, ProductImage, Category)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM ANALYZE'} {tables}")
