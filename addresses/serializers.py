"""Address shapes and field validation (the default-address rule lives in services.py)."""

import re

from rest_framework import serializers

from novacart.validators import reject_control_characters

from .countries import COUNTRY_CODES
from .error_codes import AddressErrorCode
from .models import Address

_PHONE_RE = re.compile(r"^\+?[0-9 ()./-]+$")
_POSTAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]*$")


class AddressSerializer(serializers.ModelSerializer):
    country = serializers.CharField(
        max_length=2, min_length=2, help_text="ISO 3166-1 alpha-2 code, any case (stored upper case), e.g. US."
    )
    is_default = serializers.BooleanField(
        required=False,
        help_text="true makes this the default address (the old default is unset). The first address is "
        "always the default; false on the default is ignored: make another address the default instead.",
    )

    class Meta:
        model = Address
        fields = [
            "id",
            "full_name",
            "phone",
            "line1",
            "line2",
            "city",
            "state",
            "postal_code",
            "country",
            "address_type",
            "is_default",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def get_fields(self):
        fields = super().get_fields()
        for name in ("full_name", "phone", "line1", "line2", "city", "state", "postal_code"):
            fields[name].validators.append(reject_control_characters)
        return fields

    def validate_phone(self, value: str) -> str:
        digits = sum(ch.isdigit() for ch in value)
        if not _PHONE_RE.fullmatch(value) or not 5 <= digits <= 20:
            raise serializers.ValidationError(
                "Enter a phone number: digits, optionally a leading +, spaces, dashes, dots or brackets.",
                code=AddressErrorCode.INVALID_PHONE,
            )
        return value

    def validate_postal_code(self, value: str) -> str:
        if not _POSTAL_RE.fullmatch(value):
            raise serializers.ValidationError(
                "Enter a postal code: letters, digits, spaces and dashes.", code=AddressErrorCode.INVALID_POSTAL_CODE
            )
        return value.upper()

    def validate_country(self, value: str) -> str:
        code = value.upper()
        if code not in COUNTRY_CODES:
            raise serializers.ValidationError(
                "Enter an ISO 3166-1 alpha-2 country code, e.g. US.", code=AddressErrorCode.INVALID_COUNTRY
            )
        return code
