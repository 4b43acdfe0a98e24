"""Factories for every model; tests build exactly the data they need."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from factory.django import DjangoModelFactory

from addresses.models import Address
from cart.models import Cart, CartItem
from novacart.permissions import ROLES
from orders.models import Order, OrderItem, OrderStatus, PaymentMethod, Voucher, VoucherKind
from payments.models import Payment
from products.models import Category, Product, ProductImage, ProductVariant, Review, WishlistItem
from products.services import product_refresh_derived

DEFAULT_PASSWORD = "Str0ng-Passw0rd!"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    # A customer who opened the verification link; tests of the unverified pass email_verified=False.
    email_verified = True
    # Hashed when built: a set_password() after creation would count as a password change
    # (User.save ends every session then) and start each account at token generation 1.
    password = factory.django.Password(DEFAULT_PASSWORD)


class StaffFactory(UserFactory):
    """A staff account in the given roles (group names of novacart.permissions.ROLES); by default in
    all of them, like a shop owner who does everything. `StaffFactory(roles=())` holds no permission."""

    is_staff = True

    @factory.post_generation
    def roles(obj, create, extracted, **kwargs):
        if not create:
            return
        names = ROLES.keys() if extracted is None else extracted
        obj.groups.set(Group.objects.filter(name__in=list(names)))


def staff_in(*roles: str, **kwargs):
    """A staff account holding exactly the permissions of `roles` (e.g. `staff_in(FINANCE)`)."""
    return StaffFactory(roles=roles, **kwargs)


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    parent = None


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    description = factory.Faker("sentence")
    price = Decimal("19.99")
    stock = 10
    category = factory.SubFactory(CategoryFactory)
    is_active = True

    @classmethod
    def _create(cls, model_class, *args, variants=None, weight_grams=0, **kwargs):
        """A product with its variants: by default one without options carrying the product's SKU,
        price and stock (a product sold in one form); `variants=[{"options": {...}, "price": ...,
        "stock": ...}, ...]` for a product in several (SKUs default to "<product sku>-<n>")."""
        product = super()._create(model_class, *args, **kwargs)
        if variants is None:
            ProductVariant.objects.create(
                product=product, sku=product.sku, price=product.price, stock=product.stock, weight_grams=weight_grams
            )
            Product.objects.filter(pk=product.pk).update(price_max=product.price, variant_count=1)
        else:
            option_names = list(variants[0].get("options") or {})
            for position, spec in enumerate(variants):
                spec = {"price": product.price, "stock": 0, "sku": f"{product.sku}-{position + 1}", **spec}
                options = spec.get("options") or {}
                ProductVariant.objects.create(
                    product=product,
                    position=position,
                    name=" / ".join(options[name] for name in option_names),
                    **spec,
                )
            Product.objects.filter(pk=product.pk).update(option_names=option_names)
            product_refresh_derived(product_ids=[product.pk])
        product.refresh_from_db()
        return product


class ProductVariantFactory(DjangoModelFactory):
    """A further variant of an existing product (pass `product=` and `options=`); the product's
    derived price and stock follow."""

    class Meta:
        model = ProductVariant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"VAR-{n:06d}")
    price = Decimal("19.99")
    stock = 10
    options = factory.LazyFunction(dict)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        options = kwargs.get("options") or {}
        product = kwargs["product"]
        kwargs.setdefault("name", " / ".join(options[name] for name in product.option_names if name in options))
        variant = super()._create(model_class, *args, **kwargs)
        product_refresh_derived(product_ids=[variant.product_id])
        product.refresh_from_db()
        return variant


def variant_of(product: Product) -> ProductVariant:
    """The first variant of a product (the only one of a product sold in one form)."""
    return product.variants.order_by("position", "pk").first()


def set_stock(product_or_variant, stock: int) -> None:
    """Sets the stock of a variant (or of a one-form product's variant) as a test's given state,
    keeping the product's derived stock in step. Never how the code moves stock."""
    variant = product_or_variant if isinstance(product_or_variant, ProductVariant) else variant_of(product_or_variant)
    ProductVariant.objects.filter(pk=variant.pk).update(stock=stock)
    product_refresh_derived(product_ids=[variant.product_id])
    product_or_variant.refresh_from_db()


def set_price(product_or_variant, price) -> None:
    """Like set_stock, for the price."""
    variant = product_or_variant if isinstance(product_or_variant, ProductVariant) else variant_of(product_or_variant)
    ProductVariant.objects.filter(pk=variant.pk).update(price=Decimal(str(price)))
    product_refresh_derived(product_ids=[variant.product_id])
    product_or_variant.refresh_from_db()


class ProductImageFactory(DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    external_url = factory.Sequence(lambda n: f"https://images.example.com/{n}.jpg")
    alt_text = "A product photo"


class ReviewFactory(DjangoModelFactory):
    class Meta:
        model = Review

    product = factory.SubFactory(ProductFactory)
    user = factory.SubFactory(UserFactory)
    rating = 4
    comment = "Good value."


class WishlistItemFactory(DjangoModelFactory):
    class Meta:
        model = WishlistItem

    user = factory.SubFactory(UserFactory)
    product = factory.SubFactory(ProductFactory)


class CartFactory(DjangoModelFactory):
    class Meta:
        model = Cart

    user = factory.SubFactory(UserFactory)


class CartItemFactory(DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    # Give `product` (its first variant is taken) or `variant` (its product is taken), or neither.
    variant = None
    product = factory.LazyAttribute(lambda o: o.variant.product if o.variant is not None else ProductFactory())
    quantity = 1

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs["variant"] = kwargs["variant"] or variant_of(kwargs["product"])
        return super()._create(model_class, *args, **kwargs)


class AddressFactory(DjangoModelFactory):
    class Meta:
        model = Address

    user = factory.SubFactory(UserFactory)
    full_name = factory.Faker("name")
    phone = "+1 555 0100"
    line1 = factory.Faker("street_address")
    city = factory.Faker("city")
    state = "CA"
    postal_code = "94105"
    country = "US"
    address_type = Address.AddressType.HOME
    is_default = False


class OrderFactory(DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"NC-TEST-{n:06d}")
    user = factory.SubFactory(UserFactory)
    status = OrderStatus.PENDING
    payment_method = PaymentMethod.CARD
    shipping_address = factory.LazyFunction(
        lambda: {
            "full_name": "Ada Lovelace",
            "phone": "+1 555 0100",
            "line1": "1 Analytical St",
            "line2": "",
            "city": "London",
            "state": "",
            "postal_code": "N1 1AA",
            "country": "GB",
            "address_type": "HOME",
        }
    )
    subtotal = Decimal("19.99")
    total = Decimal("19.99")
    currency = "usd"


def _line_variant(o) -> ProductVariant:
    return o.variant if o.variant is not None else variant_of(o.product)


class OrderItemFactory(DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    # Give `product` (its first variant is taken) or `variant` (its product is taken), or neither.
    variant = None
    product = factory.LazyAttribute(lambda o: o.variant.product if o.variant is not None else ProductFactory())
    product_name = factory.SelfAttribute("product.name")
    sku = factory.LazyAttribute(lambda o: _line_variant(o).sku)
    variant_name = factory.LazyAttribute(lambda o: _line_variant(o).name)
    options = factory.LazyAttribute(lambda o: _line_variant(o).options)
    unit_price = factory.LazyAttribute(lambda o: _line_variant(o).price)
    quantity = 1
    line_total = factory.LazyAttribute(lambda o: o.unit_price * o.quantity)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs["variant"] = kwargs["variant"] or variant_of(kwargs["product"])
        return super()._create(model_class, *args, **kwargs)


class PaymentFactory(DjangoModelFactory):
    class Meta:
        model = Payment

    order = factory.SubFactory(OrderFactory)
    provider = Payment.Provider.STRIPE
    provider_payment_id = factory.Sequence(lambda n: f"pi_test_{n:08d}")
    amount_minor = 1999
    currency = "usd"


class VoucherFactory(DjangoModelFactory):
    """A voucher, 10% off the whole cart by default, valid since a day ago; `categories=[...]`,
    `products=[...]` narrow what it applies to."""

    class Meta:
        model = Voucher
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"CODE{n:05d}")
    kind = VoucherKind.PERCENT
    value = Decimal("10.00")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))

    @factory.post_generation
    def categories(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.categories.set(extracted)

    @factory.post_generation
    def products(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.products.set(extracted)
