from enum import StrEnum


class AddressErrorCode(StrEnum):
    ADDRESS_NOT_FOUND = "address_not_found"
    ADDRESS_LIMIT_REACHED = "address_limit_reached"
    INVALID_COUNTRY = "invalid_country"
    INVALID_PHONE = "invalid_phone"
    INVALID_POSTAL_CODE = "invalid_postal_code"
