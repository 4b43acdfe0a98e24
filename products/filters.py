"""Product list filters. An invalid value is a 400 in the error shape, never silently ignored:
DjangoFilterBackend raises a ValidationError when the FilterSet's form is invalid.

`ProductFilter.canonical_params` spells a valid query one way (the catalog cache keys on it, see
products/cache.py): two queries with the same canonical parameters find the same products."""

import copy
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal

import django_filters
from django import forms
from django.core.validators import EMPTY_VALUES
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from .error_codes import ProductErrorCode
from .models import Product
from .search import product_search, search_canonical
from .selectors import category_descendant_ids

TRUE_VALUES = {"true", "1", "yes"}
FALSE_VALUES = {"false", "0", "no"}
MAX_SEARCH_LENGTH = 100
# Past this many digits from the decimal point a canonical decimal keeps its exponent (1E-999999),
# so a hostile value never expands into a million-character string.
PLAIN_DECIMAL_DIGITS = 30


def canonical_decimal(value: Decimal) -> str:
    """One spelling per number (10, 10.00, 010.0 and 1E1 are all "10"), without rounding it."""
    exact = value.normalize(Context(prec=max(len(value.as_tuple().digits), 1), Emax=MAX_EMAX, Emin=MIN_EMIN))
    if exact.is_zero():
        return "0"
    return format(exact, "f") if abs(exact.adjusted()) <= PLAIN_DECIMAL_DIGITS else str(exact)


class _CopiedShallowPerRequest:
    """django-filter deep-copies every filter of a FilterSet, so on every request: its arguments, its
    cached form field and that field's widget, which nothing changes once built. A FilterSet only
    sets its own `parent` and `model` on its filters, and a `method=` filter calls that method through
    its parent: a shallow copy, with the method bound to the copy, is all a request needs."""

    def __deepcopy__(self, memo):
        clone = copy.copy(self)
        clone.method = self.method  # a new FilterMethod, calling the copy's parent
        return clone


class _SharedFields(dict):
    """A filter form's `base_fields`, which Django deep-copies into each form (each request): the
    fields and widgets with their validators and messages. Validating only reads them (the form has
    no clean method changing a field), so every form of the class shares them."""

    def __deepcopy__(self, memo):
        return self


class CharFilter(_CopiedShallowPerRequest, django_filters.CharFilter):
    pass


class StrictBooleanField(forms.Field):
    """`true`/`false` (also 1/0, yes/no); anything else is an error, unlike django-filter's BooleanWidget,
    which turns unknown values into "no filter"."""

    default_error_messages = {"invalid": "Must be 'true' or 'false'."}

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in TRUE_VALUES:
            return True
        if text in FALSE_VALUES:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code=ProductErrorCode.INVALID)


class StrictBooleanFilter(_CopiedShallowPerRequest, django_filters.Filter):
    field_class = StrictBooleanField


# The schema of a filter declared with @extend_schema_field is the dict alone (drf-spectacular then
# drops the filter's help_text), so each says its limits and its description.
_PRICE_COLUMN = Product._meta.get_field("price")
PRICE_BOUND_SCHEMA = {
    "type": "number",
    "minimum": 0,
    "maximum": float(10 ** (_PRICE_COLUMN.max_digits - _PRICE_COLUMN.decimal_places)) - 0.01,
    "example": 20,
    "description": f"A price bound, at most {_PRICE_COLUMN.decimal_places} decimal places (min_price: at "
    "least this, max_price: at most this).",
}


@extend_schema_field(PRICE_BOUND_SCHEMA)
class PriceFilter(_CopiedShallowPerRequest, django_filters.NumberFilter):
    """A price bound: a non-negative decimal with at most the price column's digits and decimal places
    (read from the model field). Anything else is a 400 naming the parameter; `1E-999999`, which no
    column holds, reached PostgreSQL and was a numeric overflow (a 500)."""

    def __init__(self, *, lookup_expr: str, **kwargs):
        price = Product._meta.get_field("price")
        super().__init__(
            field_name="price",
            lookup_expr=lookup_expr,
            min_value=0,
            max_digits=price.max_digits,
            decimal_places=price.decimal_places,
            **kwargs,
        )

    def get_max_validator(self):
        # django-filter's default bound (1e50) says less than max_digits and doubled the error.
        return None


class StableOrderingFilter(_CopiedShallowPerRequest, django_filters.OrderingFilter):
    """The public ordering names, with `id` as the last key so pages never overlap."""

    @staticmethod
    def canonical(value: list[str]) -> list[str]:
        """The same ordering without the terms that cannot change it: a field named again sorts
        nothing new. The last term is kept when its direction, which `filter` gives the id
        tie-break, differs from the last kept term's."""
        kept: list[str] = []
        for term in value:
            if term.lstrip("-") not in {k.lstrip("-") for k in kept}:
                kept.append(term)
        if value and value[-1].startswith("-") != kept[-1].startswith("-"):
            kept.append(value[-1])
        return kept

    def filter(self, qs, value):
        if not value:
            return qs
        ordering = [self.get_ordering_value(param) for param in self.canonical(value)]
        expanded = []
        for term in ordering:
            expanded.append(term)
            if term.lstrip("-") == "rating_avg":
                expanded.append(("-" if term.startswith("-") else "") + "rating_count")
        direction = "-" if ordering[-1].startswith("-") else ""
        return qs.order_by(*expanded, f"{direction}id")


class ProductFilter(django_filters.FilterSet):
    search = CharFilter(
        method="filter_search",
        max_length=MAX_SEARCH_LENGTH,
        help_text="Full-text search of name, SKUs, category and description (see the parameter's description).",
    )
    category = CharFilter(
        method="filter_category",
        help_text="A category slug; includes all its sub-categories. An unknown slug is a 400 `unknown_category`.",
    )
    min_price = PriceFilter(lookup_expr="gte", help_text="Price at least this (a decimal the price column holds).")
    max_price = PriceFilter(lookup_expr="lte", help_text="Price at most this (a decimal the price column holds).")
    in_stock = StrictBooleanFilter(method="filter_in_stock", help_text="true: stock > 0; false: sold out.")
    featured = StrictBooleanFilter(field_name="is_featured", help_text="true: featured products only.")
    ordering = StableOrderingFilter(
        fields=(("price", "price"), ("name", "name"), ("created_at", "created_at"), ("rating_avg", "rating")),
        help_text="price, -price, name, -name, created_at, -created_at, rating, -rating.",
    )

    class Meta:
        model = Product
        fields: list[str] = []

    @classmethod
    def canonical_params(cls, data) -> list[tuple[str, str]] | None:
        """The filters in `data` (a query dict), validated as filtering validates them, in one
        spelling each, sorted by name; None when a value is invalid (filtering answers 400). Booleans
        as true/false, numbers by `canonical_decimal`, the search by `search_canonical` (the search
        reads nothing else), the ordering by `StableOrderingFilter.canonical`; an empty filter,
        which filters nothing, is left out.

        The catalog cache computes this for every anonymous list request, hits included, so it
        cleans each field of the (cached) form class directly: a FilterSet and its form would first
        deep-copy every filter and field, which took ten times as long as validating and nearly
        doubled the time of a cached answer. That is the form's own validation because the form has
        no `clean_<field>()` nor `clean()`: each field validates alone (a test compares the two)."""
        form_class = cls.__dict__.get("_form_class") or cls().get_form_class()
        cleaned = {}
        for name, field in form_class.base_fields.items():
            try:
                cleaned[name] = field.clean(field.widget.value_from_datadict(data, {}, name))
            except forms.ValidationError:
                return None
        return cls.canonical_params_of(cleaned)

    def canonical(self) -> list[tuple[str, str]] | None:
        """`canonical_params` of this FilterSet's data from what its form validated (filtering
        validated it already: no second pass over the fields)."""
        return self.canonical_params_of(self.form.cleaned_data) if self.is_valid() else None

    @staticmethod
    def canonical_params_of(cleaned: dict) -> list[tuple[str, str]]:
        """The canonical spelling (`canonical_params`) of valid, cleaned filter values."""
        params = []
        for name, value in sorted(cleaned.items()):
            if value in EMPTY_VALUES:
                continue
            if name == "search":
                text = search_canonical(value)
            elif name == "ordering":
                text = ",".join(StableOrderingFilter.canonical(value))
            elif isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, Decimal):
                text = canonical_decimal(value)
            else:
                text = str(value)
            if text:
                params.append((name, text))
        return params

    def get_form_class(self):
        """django-filter builds a new form class, with new fields, on every request (about a tenth of
        a list request's CPU). Nothing in it depends on the request, so it is built once per class,
        its fields shared by every form (`_SharedFields`); each request still validates with its own
        form instance."""
        form_class = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            form_class.base_fields = _SharedFields(form_class.base_fields)
            type(self)._form_class = form_class
        return form_class

    @extend_schema_field(
        {
            "type": "string",
            "maxLength": MAX_SEARCH_LENGTH,
            "example": "ultral ten",
            "description": "Words that must all match (in any order) the name, a SKU (the product's or a "
            "variant's), the category's name or the description, ignoring case; English words match their "
            'other forms ("tents" finds "Tent"). The last word also matches as a prefix ("ultral ten" finds '
            '"Ultralight Tent"). Web-search syntax: "a quoted phrase" matches as a phrase, -word or '
            '-"a phrase" excludes, `or` between two parts matches either. A product whose SKU equals the '
            "whole search comes first, then the best matches (name and SKU count most, then category, then "
            "description), then newest first; `ordering` replaces that order. A search with nothing to "
            'search for (only punctuation or words such as "the") filters nothing. On SQLite (development) '
            "each word or phrase is matched as a substring of the name, description or a SKU, without ranking.",
        }
    )
    def filter_search(self, queryset, name, value):
        """products/search.py: full-text search on PostgreSQL (the GIN index of migration 0009),
        LIKE elsewhere."""
        return product_search(queryset, value)

    @extend_schema_field(
        {
            "type": "string",
            "pattern": r"^[-a-zA-Z0-9_]+$",
            "description": "A category slug; includes all its sub-categories. An unknown slug is a 400 "
            "`unknown_category`.",
        }
    )
    def filter_category(self, queryset, name, value):
        ids = category_descendant_ids(slug=value)
        if ids is None:
            raise ValidationError(
                {"category": [f"Unknown category '{value}'."]},
                code=ProductErrorCode.UNKNOWN_CATEGORY,
            )
        return queryset.filter(category_id__in=ids)

    @extend_schema_field({"type": "boolean", "description": "true: stock > 0; false: sold out."})
    def filter_in_stock(self, queryset, name, value):
        return queryset.filter(stock__gt=0) if value else queryset.filter(stock__lte=0)
