"""Shapes in and out of the catalog. Field validation only; business rules live in services.

The product list and detail are benchmarked, so they never build model instances: the selectors
return `.values()` rows (`selectors.PRODUCT_ROW_FIELDS`) and the page's images as plain dicts, and
`product_dict` turns one row into the JSON shape, for the list and the detail alike. The product
serializers declare the fields for the OpenAPI schema; their `to_representation` (for a model
instance) goes through the same `product_dict`, and a test checks that both give the same output.
"""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .error_codes import ProductErrorCode
from .models import Category, Product, ProductImage, ProductVariant, Review, WishlistItem
from .selectors import PRODUCT_ROW_FIELDS, VARIANT_ROW_FIELDS


def _datetime_text(value, tz) -> str:
    """What DRF's DateTimeField writes for an aware datetime (ISO 8601 in the current time zone, UTC
    as "Z"), given that zone: DRF looks it up for every value, and the lookup (asgiref's Local) was
    most of the cost of a page's dates, so a page looks it up once."""
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, ".2f")


def image_file_url(name: str, external_url: str, request=None) -> str:
    """The stored file's URL from the media storage (as `FieldFile.url` builds it), else the external
    URL; made absolute for the request when the storage gives a path."""
    url = ProductImage._meta.get_field("image").storage.url(name) if name else external_url
    if request is not None and url.startswith("/"):
        return request.build_absolute_uri(url)
    return url


def image_url(image: ProductImage, request=None) -> str:
    return image_file_url(image.image.name, image.external_url, request)


def image_dict(row: dict, request=None) -> dict:
    """One image of a product, from a `selectors.IMAGE_ROW_FIELDS` row."""
    return {
        "id": row["id"],
        "url": image_file_url(row["image"], row["external_url"], request),
        "alt": row["alt_text"],
        "position": row["position"],
    }


def variant_dict(row: dict, image_urls: dict[int, str]) -> dict:
    """One variant as the product detail shows it, from a `selectors.VARIANT_ROW_FIELDS` row;
    `image_urls` maps the product's image ids to their URLs (already built for `images`)."""
    return {
        "id": row["id"],
        "sku": row["sku"],
        "name": row["name"],
        "price": _money(row["price"]),
        "stock": row["stock"],
        "in_stock": row["stock"] > 0,
        "options": row["options"],
        "image": image_urls.get(row["image_id"]) if row["image_id"] is not None else None,
    }


def options_list(option_names: list[str], variant_rows: list[dict]) -> list[dict]:
    """`[{"name": "Size", "values": ["S", "M"]}, ...]`: each option of the product with the values its
    variants give it, in the variants' order, each once."""
    values: dict[str, list[str]] = {name: [] for name in option_names}
    for row in variant_rows:
        for name, value in (row["options"] or {}).items():
            if name in values and value not in values[name]:
                values[name].append(value)
    return [{"name": name, "values": values[name]} for name in option_names]


def product_dict(
    row: dict,
    images: list[dict],
    *,
    with_description: bool = False,
    variants: list[dict] | None = None,
    tz=None,
) -> dict:
    """A product as the API shows it, from a `selectors.PRODUCT_ROW_FIELDS` row (plus `description`
    and `option_names` for the detail) and its images already shaped by `image_dict`; the detail also
    gets its variant rows (`variants`, the ones the reader may see). `tz`: the current time zone, when
    the caller has looked it up already. The one place that shape is built."""
    data = {"id": row["id"], "name": row["name"], "slug": row["slug"], "sku": row["sku"]}
    if with_description:
        data["description"] = row["description"]
    category_id = row["category_id"]
    data |= {
        "price": _money(row["price"]),
        "price_max": _money(row["price_max"]),
        "currency": settings.STORE_CURRENCY,
        "stock": row["stock"],
        "in_stock": row["stock"] > 0,
        "category": (
            {"id": category_id, "name": row["category__name"], "slug": row["category__slug"]}
            if category_id is not None
            else None
        ),
        "images": images,
        "rating_avg": _money(row["rating_avg"]),
        "rating_count": row["rating_count"],
        "is_featured": row["is_featured"],
        "is_active": row["is_active"],
        "created_at": _datetime_text(row["created_at"], tz or timezone.get_current_timezone()),
        "variant_count": row["variant_count"],
    }
    if variants is not None:
        image_urls = {image["id"]: image["url"] for image in images}
        data["options"] = options_list(row.get("option_names") or [], variants)
        data["variants"] = [variant_dict(variant, image_urls) for variant in variants]
    return data


def product_list_data(rows, images_by_product: dict[int, list[dict]], request=None) -> list[dict]:
    """A page of products from their rows and `selectors.product_images_by_id`."""
    tz = timezone.get_current_timezone()
    return [
        product_dict(row, [image_dict(image, request) for image in images_by_product[row["id"]]], tz=tz) for row in rows
    ]


def product_detail_data(row: dict, images: list[dict], variants: list[dict], request=None) -> dict:
    """One product with its description, options and variants, from its row, its image rows and its
    variant rows."""
    return product_dict(row, [image_dict(image, request) for image in images], with_description=True, variants=variants)


def _product_row(product: Product) -> dict:
    """The `.values()` row of a model instance (the serializers receive instances)."""
    row = {name: getattr(product, name) for name in PRODUCT_ROW_FIELDS if "__" not in name}
    category = product.category
    row.update(
        description=product.description,
        option_names=product.option_names,
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
            "price_max",
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
            "variant_count",
        ]
        extra_kwargs = {
            "price": {"help_text": 'The lowest price of the variants on sale ("from"); what price filters use.'},
            "price_max": {"help_text": "The highest price of the variants on sale."},
            "stock": {"help_text": "Units in stock over the variants on sale."},
            "variant_count": {"help_text": "How many variants are on sale (1 for a product sold in one form)."},
        }

    def get_currency(self, obj) -> str:
        return settings.STORE_CURRENCY

    with_description = False

    def to_representation(self, instance):
        image_field = ProductImageSerializer(context=self.context)
        images = [image_field.to_representation(image) for image in instance.images.all()]
        variants = None
        if self.with_description:
            variants = [
                {name: getattr(variant, name) for name in VARIANT_ROW_FIELDS}
                for variant in instance.variants.all()
                if variant.is_active
            ]
        return product_dict(_product_row(instance), images, with_description=self.with_description, variants=variants)


class ProductOptionSerializer(serializers.Serializer):
    name = serializers.CharField(help_text='e.g. "Size"')
    values = serializers.ListField(child=serializers.CharField(), help_text='e.g. ["S", "M", "L"]')


class ProductVariantSerializer(serializers.Serializer):
    """A variant as the product detail shows it (active variants only)."""

    id = serializers.IntegerField(help_text="Add it to the cart with this id (`variant_id`).")
    sku = serializers.CharField()
    name = serializers.CharField(help_text='The option values, e.g. "M / Red"; empty for a product in one form.')
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    stock = serializers.IntegerField()
    in_stock = serializers.BooleanField()
    options = serializers.DictField(child=serializers.CharField(), help_text='e.g. {"Size": "M", "Colour": "Red"}')
    image = serializers.CharField(allow_null=True, help_text="URL of the variant's own image, one of `images`.")


class ProductDetailSerializer(ProductListSerializer):
    with_description = True
    # Built by product_dict from `option_names` and the variants (no attribute of that name).
    options = ProductOptionSerializer(many=True, read_only=True, default=list)
    variants = ProductVariantSerializer(many=True, read_only=True)

    class Meta(ProductListSerializer.Meta):
        fields = [
            *ProductListSerializer.Meta.fields[:4],
            "description",
            *ProductListSerializer.Meta.fields[4:],
            "options",
            "variants",
        ]


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": 100},
        "example": {"Size": "M", "Colour": "Red"},
    }
)
class OptionsField(serializers.JSONField):
    """Option values of a variant, `{"Size": "M", "Colour": "Red"}`. Taken as JSON and checked whole by
    products.services (400 `invalid_options`, `option_mismatch` on `options`), so an error always
    names `options`, never a key the client made up."""


class VariantWriteSerializer(serializers.Serializer):
    """Staff input for a variant: create (POST .../variants/, and each of `variants` on POST
    /api/products/) and partial update (PATCH; `stock` is then refused, 400 `stock_not_writable`)."""

    sku = serializers.CharField(max_length=64)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    stock = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=1_000_000_000,
        help_text="The opening stock (create only); later it moves by stock adjustments with `variant_id`.",
    )
    weight_grams = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000_000)
    options = OptionsField(required=False, help_text='e.g. {"Size": "M", "Colour": "Red"}; {} for one form.')
    is_active = serializers.BooleanField(required=False)
    position = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
    image_id = IntegerPrimaryKeyRelatedField(
        queryset=ProductImage.objects.all(),
        source="image",
        allow_null=True,
        required=False,
        help_text="One of the product's images, shown for this variant.",
    )

    def validate_sku(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.", code=ProductErrorCode.BLANK)
        return value


class StaffVariantSerializer(serializers.ModelSerializer):
    """A variant as staff see it, inactive ones included."""

    in_stock = serializers.BooleanField(read_only=True)
    options = serializers.DictField(child=serializers.CharField())
    image = serializers.SerializerMethodField()

    class Meta:
        model = ProductVariant
        fields = [
            "id",
            "product",
            "sku",
            "name",
            "price",
            "stock",
            "in_stock",
            "weight_grams",
            "options",
            "image",
            "image_id",
            "is_active",
            "position",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_image(self, variant) -> str | None:
        return image_url(variant.image, self.context.get("request")) if variant.image_id else None


# What a variant of `variants` may be refused with, reported on `variants` (VariantsField).
VARIANT_INPUT_ERROR_CODES = (
    "required",
    "null",
    "blank",
    "invalid",
    "max_length",
    "min_value",
    "max_value",
    "max_digits",
    "max_decimal_places",
    "max_whole_digits",
    "does_not_exist",
    "incorrect_type",
    "not_a_list",
    "not_a_dict",
    "empty",
)


@extend_schema_field(VariantWriteSerializer(many=True))
class VariantsField(serializers.ListField):
    """A list of variants, each checked by VariantWriteSerializer. The first problem is reported on
    `variants` itself ("Variant 2, sku: This field is required."), so every error names a field the
    schema documents rather than `variants.1.sku`."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.JSONField(allow_null=True), allow_empty=False, **kwargs)

    def to_internal_value(self, data):
        items = super().to_internal_value(data)
        validated = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise serializers.ValidationError(f"Variant {index + 1} is not an object.", code="not_a_dict")
            serializer = VariantWriteSerializer(data=item)
            if not serializer.is_valid():
                field, errors = next(iter(serializer.errors.items()))
                error = errors[0] if isinstance(errors, list) else errors
                prefix = f"Variant {index + 1}" + ("" if field == "non_field_errors" else f", {field}")
                raise serializers.ValidationError(f"{prefix}: {error}", code=getattr(error, "code", "invalid"))
            validated.append(dict(serializer.validated_data))
        return validated


class LowStockVariantSerializer(serializers.Serializer):
    """A variant on sale that is at or under the low-stock threshold."""

    product_id = serializers.IntegerField()
    variant_id = serializers.IntegerField(source="id")
    sku = serializers.CharField()
    name = serializers.SerializerMethodField(help_text="The product's name and the variant's: \"Tee (M / Red)\".")
    stock = serializers.IntegerField()

    def get_name(self, variant) -> str:
        return f"{variant.product.name} ({variant.name})" if variant.name else variant.product.name


class ProductWriteSerializer(serializers.Serializer):
    """Staff input for create (POST), replace (PUT) and partial update (PATCH). The slug is generated.

    The single-SKU form (`sku`, `price`, `stock`) creates a product with one variant; with `variants`
    (create only) `sku` is the product's own code and `price`/`stock` are the variants'."""

    name = serializers.CharField(max_length=200)
    sku = serializers.CharField(max_length=64)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Required without `variants`. On a product with several variants prices are per variant "
        "(a different price is 400 `variant_required`).",
    )
    weight_grams = serializers.IntegerField(
        required=False, min_value=0, max_value=1_000_000_000, help_text="The one variant's weight (create)."
    )
    variants = VariantsField(
        required=False,
        help_text="Create only: the product's variants, all naming the same options (e.g. Size and Colour). "
        "An error in one is reported on `variants`, its detail naming the variant and the field.",
    )
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

    def get_fields(self):
        fields = super().get_fields()
        # The single-SKU form needs a price (create and PUT); with `variants` the prices are theirs.
        initial = getattr(self, "initial_data", None)
        has_variants = isinstance(initial, dict) and "variants" in initial
        if not self.partial and not has_variants:
            fields["price"].required = True
        return fields

    def validate(self, attrs):
        creating = self.instance is None and not self.partial and not self.context.get("updating")
        if "variants" in attrs:
            if not creating:
                raise serializers.ValidationError(
                    {"variants": "Variants are changed through /api/products/<id>/variants/."}, code="invalid"
                )
            for field in ("price", "stock", "weight_grams"):
                if field in attrs:
                    raise serializers.ValidationError(
                        {field: f"With `variants`, `{field}` is given per variant."}, code="invalid"
                    )
        return attrs


class StockAdjustmentSerializer(serializers.Serializer):
    """A signed stock change by staff, and (out) the movement it recorded."""

    id = serializers.IntegerField(read_only=True)
    variant_id = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="The variant whose stock moves; may be left out for a product sold in one form.",
    )
    delta = serializers.IntegerField(
        min_value=-1_000_000_000, max_value=1_000_000_000, help_text="Units added (+) or removed (-); not 0."
    )
    reason = serializers.CharField(max_length=200, help_text='Why, e.g. "received", "damaged", "stock count".')
    stock_after = serializers.IntegerField(read_only=True, help_text="The variant's stock right after it.")
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
