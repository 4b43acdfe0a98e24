"""Row locks on the catalog. Call inside `transaction.atomic()`.

The project-wide lock order (CONTRIBUTING.md, "Lock order"): a request's claim row, then cart(s),
then products by primary key, each product's variants with it, then order, then payment. Products are
always locked through `lock_products` (with their variants through `lock_variants`, by id through
`lock_product_ids` / `lock_product_ids_of`), in ascending primary-key order, so two writers that need
overlapping products queue instead of deadlocking. Every write of a variant's stock holds its
product's lock: that lock is what serialises them. A category is locked on its own (nothing else is
held with it).
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from .models import Category, Product, ProductVariant


def lock_products(*, product_ids: Iterable[int]) -> dict[int, Product]:
    """Locks the products in ascending primary-key order and returns them by id."""
    ids = sorted(set(product_ids))
    products = Product.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {product.pk: product for product in products}


def lock_variants(*, variant_ids: Iterable[int]) -> dict[int, ProductVariant]:
    """Locks the products of these variants in ascending primary-key order, then reads the variants
    (each with its locked product attached) and returns them by id. Two statements: the product lock
    comes first and alone, as every other stock writer takes it (`lock_products`); a joined
    `FOR UPDATE OF variant, product` would lock a variant before its product and deadlock with them.
    The variants are read after the locks, so their stock is the latest committed (every write of a
    variant's stock holds its product's lock)."""
    ids = sorted(set(variant_ids))
    product_ids = ProductVariant.objects.filter(pk__in=ids).values("product_id")
    products = {
        product.pk: product for product in Product.objects.select_for_update().filter(pk__in=product_ids).order_by("pk")
    }
    variants = ProductVariant.objects.filter(pk__in=ids).order_by("product_id", "pk")
    locked = {}
    for variant in variants:
        variant.product = products[variant.product_id]
        locked[variant.pk] = variant
    return locked


def lock_product_ids(*, product_ids: Iterable[int]) -> list[int]:
    """Like `lock_products`, fetching only the ids: for writes that lock a product to serialise work
    on its dependants (reviews, images) without reading it."""
    ids = sorted(set(product_ids))
    return list(Product.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def lock_product_ids_of(*, product_ids: QuerySet) -> list[int]:
    """Like `lock_product_ids`, for the products another query names (`.values("product_id")` of some
    variants, or of a cart line): the lookup and the locks are one statement. For a writer that reads
    the variants itself, after the lock (a cart add reads them with the cart's lines): on PostgreSQL
    a variant read by the locking statement itself, joined with `FOR UPDATE OF` the product, would be
    the row as it was before waiting for the lock, whereas a statement after it sees what the lock's
    previous holder committed."""
    return list(
        Product.objects.select_for_update().filter(pk__in=product_ids).order_by("pk").values_list("pk", flat=True)
    )


def lock_category(*, category_id: int) -> Category:
    return Category.objects.select_for_update().get(pk=category_id)
