"""Google ID tokens: the only module that imports google-auth.

`verify_id_token` checks a token the way Google's documentation asks, with google-auth's own
verifier (`google.oauth2.id_token.verify_token`): the RSA signature against Google's certificates
(GOOGLE_CERTS_URL), `aud` against GOOGLE_CLIENT_ID, `iat` and `exp` with GOOGLE_CLOCK_SKEW_SECONDS
of clock skew either way (the library's `clock_skew_in_seconds`; its default is none), and then the
issuer, which `verify_token` leaves to its caller. Its answer is one of two errors or the claims:
`InvalidGoogleToken` (anything wrong with the token) or `GoogleUnavailable` (the certificates could
not be fetched), so a caller never has to know google-auth's exceptions.

The certificates go through our cache (`_CachedCertsRequest`) for as long as Google's
`Cache-Control: max-age` says (about six hours; Google rotates its keys less often than daily and
publishes a new one before signing with it), so a sign-in does not download them each time. A cache
that fails only costs a download: it is an optimisation, not a limit (novacart/cache.py).
"""

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt
from django.conf import settings
from django.core.cache import cache
from google.auth import exceptions as google_exceptions
from google.auth import transport
from google.auth.transport.requests import Request as RequestsTransport
from google.oauth2 import id_token

from novacart.cache import CACHE_ERRORS, log_cache_failure

logger = logging.getLogger(__name__)

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
# Without a max-age from Google, keep the certificates this long; and never longer than a day.
DEFAULT_CERTS_CACHE_SECONDS = 3600
MAX_CERTS_CACHE_SECONDS = 24 * 3600
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


class InvalidGoogleToken(Exception):
    """The token is not a valid Google ID token for us (the message says why, for the log)."""


class GoogleUnavailable(Exception):
    """Google's certificates could not be fetched (network, timeout, an answer that is not them)."""


@dataclass(frozen=True)
class GoogleIdentity:
    subject: str
    email: str  # may be empty: a token without the email scope
    email_verified: bool
    expires_at: int  # the token's exp, Unix seconds
    digest: str  # SHA-256 of the signed part (users.models.UsedGoogleCredential)
    name: str = ""
    given_name: str = ""
    family_name: str = ""


class _CachedResponse(transport.Response):
    def __init__(self, *, status: int, headers: dict, data: bytes):
        self._status, self._headers, self._data = status, headers, data

    @property
    def status(self):
        return self._status

    @property
    def headers(self):
        return self._headers

    @property
    def data(self):
        return self._data


def _certs_cache_key(url: str) -> str:
    return f"google_certs:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


def _cache_seconds(headers) -> int:
    cache_control = headers.get("Cache-Control") or headers.get("cache-control") or ""
    if "no-store" in cache_control.lower():
        return 0
    match = _MAX_AGE.search(cache_control)
    return min(int(match.group(1)), MAX_CERTS_CACHE_SECONDS) if match else DEFAULT_CERTS_CACHE_SECONDS


class _CachedCertsRequest(transport.Request):
    """A google-auth transport for the certificate URL: answers from our cache when it can, else
    downloads with a timeout (google-auth's default is 120 s, which would hold a worker) and keeps a
    good answer (200 with a JSON object) for its max-age. Anything else is a TransportError, which
    google-auth raises too when the download fails, so a broken answer is never taken for a bad token."""

    def __init__(self):
        self._transport = RequestsTransport()

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        key = _certs_cache_key(url)
        try:
            cached = cache.get(key)
        except CACHE_ERRORS as exc:
            log_cache_failure("google certificates, downloading them", exc)
            cached = None
        if cached is not None:
            return _CachedResponse(status=200, headers={}, data=cached.encode())
        response = self._transport(
            url, method=method, body=body, headers=headers, timeout=settings.GOOGLE_CERTS_TIMEOUT_SECONDS, **kwargs
        )
        if response.status != 200:
            raise google_exceptions.TransportError(f"certificates answered HTTP {response.status}")
        try:
            certs = json.loads(response.data.decode("utf-8"))
        except ValueError as exc:
            raise google_exceptions.TransportError("certificates are not JSON") from exc
        if not isinstance(certs, dict) or not certs:
            raise google_exceptions.TransportError("certificates are not a JSON object")
        seconds = _cache_seconds(response.headers)
        if seconds:
            try:
                cache.set(key, response.data.decode("utf-8"), seconds)
            except CACHE_ERRORS as exc:
                log_cache_failure("google certificates, not kept", exc)
        return response


def _signed_part_digest(credential: str) -> str:
    header_and_payload = credential.rsplit(".", 1)[0]
    return hashlib.sha256(header_and_payload.encode("utf-8", "surrogatepass")).hexdigest()


def _text(claims, name: str) -> str:
    value = claims.get(name, "")
    return value if isinstance(value, str) else ""


def verify_id_token(credential: str, *, client_ids: list[str]) -> GoogleIdentity:
    """The identity a Google ID token vouches for. Raises InvalidGoogleToken or GoogleUnavailable."""
    try:
        claims: Any = id_token.verify_token(
            credential,
            _CachedCertsRequest(),
            audience=client_ids,
            certs_url=settings.GOOGLE_CERTS_URL,
            clock_skew_in_seconds=settings.GOOGLE_CLOCK_SKEW_SECONDS,
        )
    except google_exceptions.TransportError as exc:
        raise GoogleUnavailable(str(exc)) from exc
    # ValueError: google-auth's MalformedError and InvalidValue (signature, expiry, audience,
    # segments), and base64/JSON errors of a mangled token; PyJWTError: the JWK-set path, when the
    # certificate URL serves JWKs (v3) instead of PEM certificates.
    except (ValueError, google_exceptions.GoogleAuthError, pyjwt.PyJWTError) as exc:
        raise InvalidGoogleToken(str(exc)) from exc
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise InvalidGoogleToken(f"wrong issuer {claims.get('iss')!r}")
    subject, expires_at = claims.get("sub"), claims.get("exp")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise InvalidGoogleToken("no subject")
    if not isinstance(expires_at, int):
        raise InvalidGoogleToken("no expiry")
    verified = claims.get("email_verified")
    return GoogleIdentity(
        subject=subject,
        email=_text(claims, "email").strip(),
        # Google has sent it as a JSON boolean and, in older tokens, as the string "true".
        email_verified=verified is True or verified == "true",
        expires_at=expires_at,
        digest=_signed_part_digest(credential),
        name=_text(claims, "name"),
        given_name=_text(claims, "given_name"),
        family_name=_text(claims, "family_name"),
    )
