from enum import StrEnum


class ProductErrorCode(StrEnum):
    ALREADY_REVIEWED = "already_reviewed"
    CATEGORY_NOT_EMPTY = "category_not_empty"
    CATEGORY_CYCLE = "category_cycle"
    UNKNOWN_CATEGORY = "unknown_category"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    SKU_TAKEN = "sku_taken"
    SLUG_TAKEN = "slug_taken"
    INVALID_IMAGE = "invalid_image"
    IMAGE_TOO_LARGE = "image_too_large"
    IMAGE_TYPE_NOT_ALLOWED = "image_type_not_allowed"
    IMAGE_TOO_MANY_PIXELS = "image_too_many_pixels"
    MIN_VALUE = "min_value"
    BLANK = "blank"
    INVALID = "invalid"
    OUT_OF_STOCK = "out_of_stock"
    STOCK_CHANGED = "stock_changed"
    STOCK_NOT_WRITABLE = "stock_not_writable"
    IMAGE_TOO_MANY_FRAMES = "image_too_many_frames"
    MEDIA_STORAGE_UNAVAILABLE = "media_storage_unavailable"
