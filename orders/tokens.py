"""A guest's order token: what opens one order without an account (`X-Order-Token`).

The token is an HMAC, with SECRET_KEY, of the order's number and a random nonce kept on the order;
the order keeps only its SHA-256 (`guest_token_hash`, which requests are matched by) and the nonce.
So the database alone opens nothing, and the e-mails, which are sent later by a task that gets only
the order's id, can carry the link without the token sitting in a broker message or a table. A
fresh nonce (an order lookup) makes a new token, and every earlier one stops working.
"""

import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.utils.crypto import salted_hmac

# The request header a guest sends the token in.
ORDER_TOKEN = "X-Order-Token"
_SALT = "novacart.orders.guest_order_token"
# What a token looks like (64 hex digits): anything else is not looked up at all.
TOKEN_LENGTH = 64


@dataclass(frozen=True)
class GuestToken:
    token: str
    nonce: str
    digest: str


def guest_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def guest_token_for(*, number: str, nonce: str) -> str:
    return salted_hmac(_SALT, f"{number}:{nonce}", algorithm="sha256").hexdigest()


def guest_token_new(*, number: str) -> GuestToken:
    """A new token for the order `number`: the token to hand out, and what the order keeps."""
    nonce = secrets.token_hex(16)
    token = guest_token_for(number=number, nonce=nonce)
    return GuestToken(token=token, nonce=nonce, digest=guest_token_digest(token))


def guest_token_clean(raw: str | None) -> str | None:
    """The token of an `X-Order-Token` header, or None when there is none or it cannot be one."""
    if not raw:
        return None
    token = raw.strip().lower()
    if len(token) != TOKEN_LENGTH or any(ch not in "0123456789abcdef" for ch in token):
        return None
    return token


def guest_order_link(*, order_id: int, token: str) -> str:
    """The shop front's page of one guest order, with its token."""
    return f"{settings.FRONTEND_URL}/orders/{order_id}?{urlencode({'token': token})}"
