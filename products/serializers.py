"""Shapes in and out of the catalog. Field validation only; business rules live in services.

The product list and detail are benchmarked, so they never build model instances: the selectors
return `.values()` rows (`selectors.PRODUCT_ROW_FIELDS`) and the page's images as plain dicts, and
`product_dict` turns one row into the JSON shape, for the list and the detail alike. The product
serializers declare the fields for the OpenAPI schema; their `to_representation` (for a model
instance) goes through the same `product_dict`, and a test checks that both give the same output.
"""

from decimal import Decimal

from django.conf import settings
from rest_framework import serializers

from .error_codes import ProductErrorCode
from .models import Category, Product, ProductImage, Review, WishlistItem
from .selectors import PRODUCT_ROW_FIELDS

_datetime_field = serializers.DateTimeField()


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, ".2f")


def _image_file_url(name: str, external_url: str, request=None) -> str:
    """The stored file's URL from the media storage (as `FieldFile.url` builds it), else the external
    URL; made absolute for the request when the storage gives a path."""
    url = ProductImage._meta.get_field("image").storage.url(name) if name else external_url
    if request is not None and url.startswith("/"):
        return request.build_absolute_uri(url)
    return url


def image_url(image: ProductImage, request=None) -> str:
    return _image_file_url(image.image.name, image.external_url, request)


def image_dict(row: dict, request=None) -> dict:
    """One image of a product, from a `selectors.IMAGE_ROW_FIELDS` row."""
    return {
        "id": row["id"],
        "url": _image_file_url(row["image"], row["external_url"], request),
        "alt": row["alt_text"],
        "position": row["position"],
    }


def product_dict(row: dict, images: list[dict], *, with_description: bool = False) -> dict:
    """A product as the API shows it, from a `selectors.PRODUCT_ROW_FIELDS` row (plus `description`
    for the detail) and its images already shaped by `image_dict`. The one place that shape is built."""
    data = {"id": row["id"], "name": row["name"], "slug": row["slug"], "sku": row["sku"]}
    if with_description:
        data["description"] = row["description"]
    data.update(
        price=_money(row["price"]),
        currency=settings.STORE_CURRENCY,
        stock=row["stock"],
        in_stock=row["stock"] > 0,
        category=(
            {"id": row["category_id"], "name": row["category__name"], "slug": row["category__slug"]}
            if row["category_id"] is not None
            else None
        ),
        images=images,
        rating_avg=_money(row["rating_avg"]),
        rating_count=row["rating_count"],
        is_featured=row["is_featured"],
        is_active=row["is_active"],
        created_at=_datetime_field.to_representation(row["created_at"]),
    )
    return data


def product_list_data(rows, images_by_product: dict[int, list[dict]], request=None) -> list[dict]:
    """A page of products from their rows and `selectors.product_images_by_id`."""
    return [product_dict(row, [image_dict(image, request) for image in images_by_product[row["id"]]]) for row in rows]


def product_detail_data(row: dict, images: list[dict], request=None) -> dict:
    """One product with its description, from its row and its image rows."""
    return product_dict(row, [image_dict(image, request) for image in images], with_description=True)


def _product_row(product: Product) -> dict:
    """The `.values()` row of a model instance (the serializers receive instances)."""
    row = {name: getattr(product, name) for name in PRODUCT_ROW_FIELDS if "__" not in name}
    category = product.category
    row.update(
        description=product.description,
        category__name=category.name if category else None,
        category__slug=category.slug if category else None,
    )
    return row


# --- Categories --------------------------------------------------------------------------------


class CategorySummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField()


def _category_summary(category: Category | None) -> dict | None:
    if category is None:
        return None
    return {"id": category.id, "name": category.name, "slug": category.slug}


def _node_dict(node) -> dict:
    return {
        "id": node.id,
        "name": node.name,
        "slug": node.slug,
        "parent": node.parent,
        "children": [_node_dict(child) for child in node.children],
    }


class IntegerPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id is a whole number: 1.5 (or "1.5") is `incorrect_type`, never silently category 1."""

    def to_internal_value(self, data):
        is_int = isinstance(data, int) and not isinstance(data, bool)
        is_digit_string = isinstance(data, str) and data.strip().isdigit()
        if not (is_int or is_digit_string):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class CategoryTreeSerializer(serializers.Serializer):
    """A category with its sub-categories, to any depth (input: a selectors.CategoryNode)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    parent = serializers.IntegerField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["children"] = CategoryTreeSerializer(many=True, read_only=True)
        return fields

    def to_representation(self, instance):
        return _node_dict(instance)


class CategoryDetailSerializer(CategoryTreeSerializer):
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    sort_order = serializers.IntegerField()

    def to_representation(self, instance):
        data = _node_dict(instance)
        data.update(description=instance.description, is_active=instance.is_active, sort_order=instance.sort_order)
        return data


class CategoryWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=140, required=False, allow_blank=True, help_text="Generated when empty.")
    parent = IntegerPrimaryKeyRelatedField(queryset=Category.objects.all(), allow_null=True, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    is_active = serializers.BooleanField(required=False)
    sort_order = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)


# --- Products ----------------------------------------------------------------------------------


class ProductImageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    alt = serializers.CharField()
    position = serializers.IntegerField()

    def to_representation(self, instance):
        row = {
            "id": instance.id,
            "image": instance.image.name,
            "external_url": instance.external_url,
            "alt_text": instance.alt_text,
            "position": instance.position,
        }
        return image_dict(row, self.context.get("request"))


class ProductImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG, WebP or GIF.")
    alt = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ProductListSerializer(serializers.ModelSerializer):
    """A product in a list: everything of the detail but the description."""

    currency = serializers.SerializerMethodField()
    in_stock = serializers.BooleanField(read_only=True)
    category = CategorySummarySerializer(allow_null=True)
    images = ProductImageSerializer(many=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "slug",
            "sku",
            "price",
            "currency",
            "stock",
            "in_stock",
            "category",
            "images",
            "rating_avg",
            "rating_count",
            "is_featured",
            "is_active",
            "created_at",
        ]

    def get_currency(self, obj) -> str:
        return settings.STORE_CURRENCY

    with_description = False

    def to_representation(self, instance):
        image_field = ProductImageSerializer(context=self.context)
        images = [image_field.to_representation(image) for image in instance.images.all()]
        return product_dict(_product_row(instance), images, with_description=self.with_description)


class ProductDetailSerializer(ProductListSerializer):
    with_description = True

    class Meta(ProductListSerializer.Meta):
        fields = [*ProductListSerializer.Meta.fields[:4], "description", *ProductListSerializer.Meta.fields[4:]]


class ProductWriteSerializer(serializers.Serializer):
    """Staff input for create (POST), replace (PUT) and partial update (PATCH). The slug is generated."""

    name = serializers.CharField(max_length=200)
    sku = serializers.CharField(max_length=64)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    stock = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=1_000_000_000,
        help_text="The opening stock of a new product (POST). An update (PUT, PATCH) refuses it with 400 "
        "`stock_not_writable`: stock then moves only by POST /api/products/<id>/stock-adjustments/.",
    )
    category = IntegerPrimaryKeyRelatedField(queryset=Category.objects.all(), allow_null=True, required=False)
    is_active = serializers.BooleanField(required=False)
    is_featured = serializers.BooleanField(required=False)

    def validate_sku(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.", code=ProductErrorCode.BLANK)
        return value


class StockAdjustmentSerializer(serializers.Serializer):
    """A signed stock change by staff, and (out) the movement it recorded."""

    id = serializers.IntegerField(read_only=True)
    delta = serializers.IntegerField(
        min_value=-1_000_000_000, max_value=1_000_000_000, help_text="Units added (+) or removed (-); not 0."
    )
    reason = serializers.CharField(max_length=200, help_text='Why, e.g. "received", "damaged", "stock count".')
    stock_after = serializers.IntegerField(read_only=True, help_text="The product's stock right after it.")
    actor = serializers.EmailField(source="actor.email", read_only=True, allow_null=True, default=None)
    created_at = serializers.DateTimeField(read_only=True)


# --- Reviews -----------------------------------------------------------------------------------


class ReviewSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    verified_purchase = serializers.BooleanField(read_only=True)

    class Meta:
        model = Review
        fields = ["id", "product", "author", "rating", "comment", "verified_purchase", "created_at", "updated_at"]
        read_only_fields = fields

    def get_author(self, obj) -> str:
        """First name and last initial; never the e-mail address."""
        user = obj.user
        first = (user.first_name or "").strip()
        last = (user.last_name or "").strip()
        if first:
            return f"{first} {last[0]}." if last else first
        return "Customer"

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["verified_purchase"] = bool(getattr(instance, "verified_purchase", False))
        return data


class ReviewWriteSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ReviewUpdateSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


# --- Wishlist ----------------------------------------------------------------------------------


class WishlistProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    in_stock = serializers.BooleanField()
    category = CategorySummarySerializer(allow_null=True)
    image = serializers.CharField(allow_null=True, help_text="URL of the first image, if any.")

    def to_representation(self, instance):
        images = list(instance.images.all())
        return {
            "id": instance.id,
            "name": instance.name,
            "slug": instance.slug,
            "price": _money(instance.price),
            "currency": settings.STORE_CURRENCY,
            "in_stock": instance.stock > 0,
            "category": _category_summary(instance.category),
            "image": image_url(images[0], self.context.get("request")) if images else None,
        }


class WishlistItemSerializer(serializers.ModelSerializer):
    product = WishlistProductSerializer()

    class Meta:
        model = WishlistItem
        fields = ["id", "product", "created_at"]
        read_only_fields = fields


class WishlistAddSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(min_value=1)


class LowStockQuerySerializer(serializers.Serializer):
    threshold = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000_000)
