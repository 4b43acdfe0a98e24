"""Serializer fields shared by the apps."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# What an item of an `object_list` may be refused with, reported on the list's own field.
ITEM_INPUT_ERROR_CODES = (
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


class _ObjectListField(serializers.ListField):
    item_serializer: type[serializers.Serializer]
    item_name = "Item"

    def __init__(self, **kwargs):
        super().__init__(child=serializers.JSONField(allow_null=True), **kwargs)

    def to_internal_value(self, data):
        validated = []
        for index, item in enumerate(super().to_internal_value(data)):
            if not isinstance(item, dict):
                raise serializers.ValidationError(f"{self.item_name} {index + 1} is not an object.", code="not_a_dict")
            serializer = self.item_serializer(data=item)
            if not serializer.is_valid():
                field, errors = next(iter(serializer.errors.items()))
                error = errors[0] if isinstance(errors, list) else errors
                prefix = f"{self.item_name} {index + 1}" + ("" if field == "non_field_errors" else f", {field}")
                raise serializers.ValidationError(f"{prefix}: {error}", code=getattr(error, "code", "invalid"))
            validated.append(dict(serializer.validated_data))
        return validated


def object_list(item_serializer: type[serializers.Serializer], *, item_name: str = "Line", **kwargs):
    """A list of objects, each checked by `item_serializer`. The first problem is reported on the list
    itself ("Line 2, quantity: Ensure this value is greater than or equal to 1."), so every error names a
    field the schema documents (with ITEM_INPUT_ERROR_CODES) rather than `lines.1.quantity`."""
    field_class = extend_schema_field(item_serializer(many=True))(
        type(
            f"{item_serializer.__name__}List",
            (_ObjectListField,),
            {"item_serializer": item_serializer, "item_name": item_name},
        )
    )
    return field_class(**kwargs)
