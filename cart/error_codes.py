from enum import StrEnum


class CartErrorCode(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    QUANTITY_LIMIT_EXCEEDED = "quantity_limit_exceeded"
    CART_FULL = "cart_full"
    CART_ITEM_NOT_FOUND = "cart_item_not_found"
    CART_NOT_FOUND = "cart_not_found"
    MAX_VALUE = "max_value"
    VARIANT_REQUIRED = "variant_required"
