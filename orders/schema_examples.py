"""The OpenAPI examples of checkout pricing, orders, vouchers and the staff reports: one story told
with real numbers, so a reader of /api/docs/ sees amounts that add up.

The cart: two mugs at 12.50 and a tea towel at 4.99 (29.99), the voucher TENOFF (10% off: 3.00,
shared 2.50 and 0.50 by the lines' subtotals), Royal Mail at 3.95, VAT 20% on top (4.50 and 0.90 on
the lines, 0.79 on the shipping): 37.13. tests/core/test_openapi_schema.py prices that cart with
the server and checks it answers exactly these figures, and that the report examples add up.
"""

from drf_spectacular.utils import OpenApiExample

_TAX_LINES = [{"name": "VAT 20%", "rate": "0.2000", "amount": "6.19"}]
_TOTALS = {
    "subtotal": "29.99",
    "discount_total": "3.00",
    "shipping_total": "3.95",
    "tax_total": "6.19",
    "total": "37.13",
    "currency": "usd",
    "prices_include_tax": False,
}
_ROYAL_MAIL = {"id": 3, "name": "Royal Mail"}

CHECKOUT_PREVIEW = OpenApiExample(
    "PricedCart",
    summary="A cart with a voucher, shipping and VAT",
    value={
        "lines": [
            {
                "item_id": 88,
                "variant_id": 31,
                "quantity": 2,
                "unit_price": "12.50",
                "discount": "2.50",
                "tax": "4.50",
                "line_total": "27.00",
            },
            {
                "item_id": 89,
                "variant_id": 40,
                "quantity": 1,
                "unit_price": "4.99",
                "discount": "0.50",
                "tax": "0.90",
                "line_total": "5.39",
            },
        ],
        **_TOTALS,
        "shipping_method": _ROYAL_MAIL,
        "voucher": "TENOFF",
        "tax_lines": _TAX_LINES,
    },
    response_only=True,
)

_ORDER = {
    "id": 1042,
    "number": "NC-261202-7KQ2XM",
    "status": "PAID",
    "payment_status": "paid",
    "payment_method": "card",
    "items": [
        {
            "id": 2210,
            "product": 17,
            "variant_id": 31,
            "name": "Mug",
            "sku": "MUG-BLUE",
            "variant_name": "",
            "options": {},
            "unit_price": "12.50",
            "quantity": 2,
            "discount": "2.50",
            "tax": "4.50",
            "line_total": "27.00",
        },
        {
            "id": 2211,
            "product": 23,
            "variant_id": 40,
            "name": "Tea Towel",
            "sku": "TOWEL-1",
            "variant_name": "",
            "options": {},
            "unit_price": "4.99",
            "quantity": 1,
            "discount": "0.50",
            "tax": "0.90",
            "line_total": "5.39",
        },
    ],
    **_TOTALS,
    "refunded_total": "0.00",
    "tax_lines": _TAX_LINES,
    "shipping_method": _ROYAL_MAIL,
    "voucher_code": "TENOFF",
    "shipping_address": {
        "full_name": "Ada Lovelace",
        "phone": "+44 20 7946 0000",
        "line1": "12 St James's Square",
        "line2": "",
        "city": "London",
        "state": "",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
        "address_type": "HOME",
    },
    "tracking_number": "",
    "created_at": "2026-12-02T10:14:03Z",
    "paid_at": "2026-12-02T10:15:41Z",
    "shipped_at": None,
    "delivered_at": None,
    "cancelled_at": None,
    "refunded_at": None,
}
_PLACED = {
    "from_status": "",
    "to_status": "PENDING",
    "actor": "customer",
    "note": "Order placed.",
    "created_at": "2026-12-02T10:14:03Z",
}


def _order_detail(name: str, summary: str, *, history: list[dict], **fields) -> OpenApiExample:
    return OpenApiExample(
        name,
        summary=summary,
        value={**_ORDER, "refunds": [], **fields, "status_history": [_PLACED, *history]},
        response_only=True,
    )


ORDER = OpenApiExample(
    "PaidOrder", summary="A paid order with a voucher, shipping and VAT", value=_ORDER, response_only=True
)
_PAID = {
    "from_status": "PENDING",
    "to_status": "PAID",
    "actor": "system",
    "note": "stripe payment intent pi_3QxExample",
    "created_at": "2026-12-02T10:15:41Z",
}
ORDER_DETAIL = _order_detail("PaidOrder", "A paid order with a voucher, shipping and VAT", history=[_PAID])
ORDER_PLACED = _order_detail(
    "PlacedOrder",
    "The order placed from the cart, waiting for its payment",
    history=[],
    status="PENDING",
    paid_at=None,
    payment_status="unpaid",
)
GUEST_ORDER_PLACED = _order_detail(
    "PlacedGuestOrder",
    "Placed without an account: the order and, this once, its token",
    history=[],
    status="PENDING",
    paid_at=None,
    payment_status="unpaid",
    order_token="9f2c4e7a1b3d5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6f7",
)
SIGNED_IN_ORDER_REQUEST = OpenApiExample(
    "Signed in",
    value={"shipping_address_id": 7, "shipping_method_id": 2, "payment_method": "card"},
    request_only=True,
)
GUEST_ORDER_REQUEST = OpenApiExample(
    "Guest (X-Cart-Token)",
    value={
        "email": "grace@example.com",
        "shipping_address": {
            "full_name": "Grace Hopper",
            "phone": "+44 20 7946 0000",
            "line1": "1 Harbour Street",
            "line2": "",
            "city": "London",
            "state": "",
            "postal_code": "SW1A 1AA",
            "country": "GB",
        },
        "shipping_method_id": 2,
        "payment_method": "card",
    },
    request_only=True,
)
ORDER_CANCELLED = _order_detail(
    "CancelledOrder",
    "Cancelled before it was paid (stock and the voucher's use given back)",
    history=[
        {
            "from_status": "PENDING",
            "to_status": "CANCELLED",
            "actor": "customer",
            "note": "Cancelled by the customer.",
            "created_at": "2026-12-02T10:21:37Z",
        }
    ],
    status="CANCELLED",
    payment_status="unpaid",
    paid_at=None,
    cancelled_at="2026-12-02T10:21:37Z",
)
ORDER_SHIPPED = _order_detail(
    "ShippedOrder",
    "Shipped by staff with its tracking number",
    history=[
        _PAID,
        {
            "from_status": "PAID",
            "to_status": "SHIPPED",
            "actor": "staff",
            "note": "Status set by staff.",
            "created_at": "2026-12-03T08:02:19Z",
        },
    ],
    status="SHIPPED",
    tracking_number="1Z999AA10123456784",
    shipped_at="2026-12-03T08:02:19Z",
    payment_status="partially_refunded",
    refunded_total="5.39",
    refunds=[
        {
            "id": 88,
            "amount": "5.39",
            "currency": "usd",
            "status": "succeeded",
            "reason": "Tea towel out of stock after payment",
            "lines": [{"order_item_id": 2211, "quantity": 1}],
            "shipping": False,
            "created_at": "2026-12-03T07:40:12Z",
        }
    ],
)

SHIPPING_METHOD = OpenApiExample(
    "RoyalMail",
    summary="Royal Mail to GB",
    value={
        "id": 3,
        "name": "Royal Mail",
        "price": "3.95",
        "currency": "usd",
        "delivery_days_min": 2,
        "delivery_days_max": 5,
        "cod_allowed": False,
    },
    response_only=True,
)

VOUCHER = OpenApiExample(
    "PercentOff",
    summary="10% off the whole cart",
    value={
        "id": 5,
        "code": "TENOFF",
        "kind": "percent",
        "value": "10.00",
        "min_subtotal": "20.00",
        "starts_at": "2026-11-01T00:00:00Z",
        "ends_at": "2026-12-31T23:59:59Z",
        "usage_limit": 500,
        "per_customer_limit": 1,
        "used_count": 37,
        "categories": [],
        "products": [],
        "is_active": True,
        "created_at": "2026-10-28T09:30:00Z",
        "updated_at": "2026-11-15T16:02:11Z",
    },
    response_only=True,
)
VOUCHER_WRITE = [
    OpenApiExample(
        "PercentOff",
        summary="10% off the whole cart",
        value={
            "code": "tenoff",
            "kind": "percent",
            "value": "10.00",
            "min_subtotal": "20.00",
            "ends_at": "2026-12-31T23:59:59Z",
            "usage_limit": 500,
            "per_customer_limit": 1,
        },
        request_only=True,
    ),
    OpenApiExample(
        "FixedOffCategory",
        summary="5.00 off kitchen products (category 4 and below)",
        value={"code": "KITCHEN5", "kind": "fixed", "value": "5.00", "categories": [4]},
        request_only=True,
    ),
    OpenApiExample(
        "FreeShipping",
        summary="Free shipping from a 50.00 subtotal",
        value={"code": "SHIPFREE", "kind": "free_shipping", "min_subtotal": "50.00"},
        request_only=True,
    ),
]

# Three days: a day whose only order was refunded since, a quiet day, and a day of the cart above and
# three towels sent by courier (7.95): 14.97 + 2.99 VAT, shipping 7.95 + 1.59 VAT = 27.50.
_DAYS = [
    {
        "date": "2026-11-30",
        "gross": "10.73",
        "refunds": "10.73",
        "revenue": "0.00",
        "tax": "0.00",
        "shipping_total": "3.95",
        "discounts": "0.00",
        "orders": 1,
        "average_order_value": "10.73",
    },
    {
        "date": "2026-12-01",
        "gross": "0.00",
        "refunds": "0.00",
        "revenue": "0.00",
        "tax": "0.00",
        "shipping_total": "0.00",
        "discounts": "0.00",
        "orders": 0,
        "average_order_value": "0.00",
    },
    {
        "date": "2026-12-02",
        "gross": "64.63",
        "refunds": "0.00",
        "revenue": "64.63",
        "tax": "10.77",
        "shipping_total": "11.90",
        "discounts": "3.00",
        "orders": 2,
        "average_order_value": "32.32",
    },
]
_TAKINGS = {
    "gross": "75.36",
    "refunds": "10.73",
    "revenue": "64.63",
    "tax": "10.77",
    "shipping_total": "15.85",
    "discounts": "3.00",
}
SALES_REPORT = OpenApiExample(
    "ThreeDays",
    summary="Three days, one order refunded since",
    value={
        "days": 3,
        "start_date": "2026-11-30",
        "end_date": "2026-12-02",
        "currency": "usd",
        "daily": _DAYS,
        "totals": {**_TAKINGS, "orders": 3, "average_order_value": "25.12"},
    },
    response_only=True,
)
ANALYTICS = OpenApiExample(
    "SmallShop",
    summary="A small shop: five orders, one refunded",
    value={
        **_TAKINGS,
        "currency": "usd",
        "orders_paid": 3,
        "average_order_value": "25.12",
        "orders_total": 5,
        "orders_by_status": {
            "PENDING": 1,
            "PAID": 2,
            "PROCESSING": 0,
            "SHIPPED": 0,
            "DELIVERED": 0,
            "CANCELLED": 1,
            "REFUNDED": 1,
        },
        "top_products_by_quantity": [
            {"product": 23, "name": "Tea Towel", "sku": "TOWEL-1", "quantity": 4, "revenue": "19.46"},
            {"product": 17, "name": "Mug", "sku": "MUG-BLUE", "quantity": 2, "revenue": "22.50"},
        ],
        "top_products_by_revenue": [
            {"product": 17, "name": "Mug", "sku": "MUG-BLUE", "quantity": 2, "revenue": "22.50"},
            {"product": 23, "name": "Tea Towel", "sku": "TOWEL-1", "quantity": 4, "revenue": "19.46"},
        ],
        "low_stock_threshold": 5,
        "low_stock_count": 2,
    },
    response_only=True,
)
