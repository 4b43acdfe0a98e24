"""The variants migration on a database that already holds products, carts, orders, reviews and stock
movements: every product gets one variant carrying its SKU, price and stock, and everything that
pointed at the product points at that variant (products 0008, cart 0004, orders 0007)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cart.models import CartItem
from orders.models import OrderItem
from products.models import Product, Review, StockMovement

BEFORE = {
    "products": "0007_friendly_constraint_messages",
    "cart": "0003_friendly_constraint_messages",
    "orders": "0006_processing_status",
    "payments": "0004_razorpay_provider",  # its refunds (0005) come after orders 0010
}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def _leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_existing_rows_get_one_variant_each_and_keep_pointing_at_the_right_things():
    leaves = _leaves()
    before = [(app, BEFORE.get(app, name)) for app, name in leaves]
    try:
        old = _migrate(before)
        User = old.get_model("users", "User")
        user = User.objects.create(email="old@example.com", password="x")
        OldCategory = old.get_model("products", "Category")
        OldProduct = old.get_model("products", "Product")
        category = OldCategory.objects.create(name="Mugs", slug="mugs")
        mug = OldProduct.objects.create(
            name="Blue Mug", slug="blue-mug", sku="MUG-1", price=Decimal("12.50"), stock=7, category=category
        )
        towel = OldProduct.objects.create(name="Towel", slug="towel", sku="TWL-1", price=Decimal("4.99"), stock=0)
        cart = old.get_model("cart", "Cart").objects.create(user=user, token="t" * 43)
        old.get_model("cart", "CartItem").objects.create(cart=cart, product=mug, quantity=2)
        order = old.get_model("orders", "Order").objects.create(
            number="NC-1",
            user=user,
            payment_method="card",
            shipping_address={},
            subtotal=Decimal("4.99"),
            total=Decimal("4.99"),
            currency="usd",
        )
        old.get_model("orders", "OrderItem").objects.create(
            order=order,
            product=towel,
            product_name="Towel",
            sku="TWL-1",
            unit_price=Decimal("4.99"),
            quantity=1,
            line_total=Decimal("4.99"),
        )
        old.get_model("products", "Review").objects.create(product=mug, user=user, rating=5)
        old.get_model("products", "StockMovement").objects.create(
            product=mug, delta=7, reason="received", stock_after=7
        )
    finally:
        _migrate(leaves)

    mug, towel = Product.objects.get(sku="MUG-1"), Product.objects.get(sku="TWL-1")
    for product, price, stock in ((mug, Decimal("12.50"), 7), (towel, Decimal("4.99"), 0)):
        (variant,) = product.variants.all()
        assert (variant.sku, variant.price, variant.stock, variant.options, variant.name) == (
            product.sku,
            price,
            stock,
            {},
            "",
        )
        assert (product.price, product.price_max, product.stock, product.variant_count, product.option_names) == (
            price,
            price,
            stock,
            1,
            [],
        )
    line = CartItem.objects.get()
    assert (line.product_id, line.variant_id, line.quantity) == (mug.pk, mug.variants.get().pk, 2)
    item = OrderItem.objects.get()
    assert (item.product_id, item.variant_id, item.sku, item.options) == (
        towel.pk,
        towel.variants.get().pk,
        "TWL-1",
        {},
    )
    assert Review.objects.get().product_id == mug.pk
    assert StockMovement.objects.get().variant_id == mug.variants.get().pk
