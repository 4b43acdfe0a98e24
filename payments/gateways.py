"""Which gateway is on: the registry of payment providers, chosen by settings.PAYMENT_GATEWAY.

Services speak to a gateway (the `PaymentGateway` protocol of payments.provider_types), never to a
provider's SDK. Adding a provider means one module that implements the protocol and one line in
GATEWAYS (and, if it sends webhooks, one in WEBHOOK_PARSERS).

- "stripe" (payments.stripe_client): the real thing.
- "razorpay" (payments.razorpay_client): the second real gateway (seed 004, Indian shops).
- "dummy" (payments.dummy_gateway): development only, refused with DEBUG off at settings load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.conf import settings

from novacart.exceptions import ProviderError, ServiceError, ServiceUnavailable

from . import razorpay_client, stripe_client
from .dummy_gateway import DummyGateway
from .error_codes import PaymentErrorCode
from .provider_types import GatewayError, PaymentGateway, ProviderEvent
from .razorpay_client import RazorpayGateway
from .stripe_client import StripeGateway

GATEWAYS: dict[str, type] = {
    "stripe": StripeGateway,
    "razorpay": RazorpayGateway,
    "dummy": DummyGateway,
}

# The header that carries a provider's webhook signature -> (provider, the secret setting it needs,
# the function that verifies the raw body against the request's headers and returns the event).
WEBHOOK_PARSERS: dict[str, tuple[str, str, Callable[[bytes, Mapping[str, str]], ProviderEvent]]] = {
    "Stripe-Signature": (
        "stripe",
        "STRIPE_WEBHOOK_SECRET",
        lambda body, headers: stripe_client.parse_webhook(body, headers.get("Stripe-Signature")),
    ),
    "X-Razorpay-Signature": (
        "razorpay",
        "RAZORPAY_WEBHOOK_SECRET",
        lambda body, headers: razorpay_client.parse_webhook(
            body, headers.get("X-Razorpay-Signature"), headers.get(razorpay_client.EVENT_ID_HEADER)
        ),
    ),
}


def gateway_is_configured() -> bool:
    return settings.PAYMENT_GATEWAY in GATEWAYS


def get_gateway() -> PaymentGateway:
    """The gateway chosen by settings.PAYMENT_GATEWAY.

    Raises ServiceUnavailable(`payment_not_configured`) when no gateway is configured.
    """
    gateway_class = GATEWAYS.get(settings.PAYMENT_GATEWAY)
    if gateway_class is None:
        raise ServiceUnavailable(
            "Payments are not configured on this server (set STRIPE_SECRET_KEY, or PAYMENT_GATEWAY=razorpay).",
            code=PaymentErrorCode.PAYMENT_NOT_CONFIGURED,
        )
    return gateway_class()


def provider_error(exc: GatewayError) -> ServiceError:
    """The provider's failure as our answer: 503 when it rate-limited us, 502 otherwise."""
    if exc.rate_limited:
        return ServiceUnavailable(
            "The payment provider is busy; please try again shortly.", code=PaymentErrorCode.PAYMENT_PROVIDER_ERROR
        )
    return ProviderError(
        "The payment provider did not answer as expected; please try again.",
        code=PaymentErrorCode.PAYMENT_PROVIDER_ERROR,
    )
