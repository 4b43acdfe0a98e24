"""Row locks on the catalog. Call inside `transaction.atomic()`.

The project-wide lock order (CONTRIBUTING.md, "Lock order"): a request's claim row, then cart(s),
then products by primary key, each product's variants with it, then order, then payment. Products are
always locked through `lock_products` (or with their variants through `lock_variants`), in ascending
primary-key order, so two writers that need overlapping products queue instead of deadlocking. Every
write of a variant's stock holds its product's lock: that lock is what serialises them. A category is
locked on its own (nothing else is held with it).
"""

from collections.abc import Iterable

from .models import Category, Product, ProductVariant


def lock_products(*, product_ids: Iterable[int]) -> dict[int, Product]:
    """Locks the products in ascending primary-key order and returns them by id."""
    ids = sorted(set(product_ids))
    products = Product.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {product.pk: product for product in products}


def lock_variants(*, variant_ids: Iterable[int]) -> dict[int, ProductVariant]:
    """Locks these variants and their products in one statement, in (product, variant) primary-key
    order, and returns the variants by id, each with its (locked) product loaded."""
    ids = sorted(set(variant_ids))
    variants = (
        ProductVariant.objects.select_related("product")
        .select_for_update(of=("self", "product"))
        .filter(pk__in=ids)
        .order_by("product_id", "pk")
    )
    return {variant.pk: variant for variant in variants}


def lock_product_ids(*, product_ids: Iterable[int]) -> list[int]:
    """Like `lock_products`, fetching only the ids: for writes that lock a product to serialise work
    on its dependants (reviews, images) without reading it."""
    ids = sorted(set(product_ids))
    return list(Product.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def lock_category(*, category_id: int) -> Category:
    return Category.objects.select_for_update().get(pk=category_id)
