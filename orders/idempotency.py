"""Idempotency-Key handling (IETF draft), shared by order creation and payment intents.

A key is scoped to (user, scope), or for a guest to (guest, scope): the guest is known by a digest
of the cart token they send (`X-Cart-Token`), or of their order token (`X-Order-Token`) without one.
The first request with a key records it as in progress in its own short transaction, runs, and
stores the response. A retry with the same key and body gets the stored response and creates
nothing; the same key with another body is 422 `idempotency_key_reused`; a retry while the first is
still running is 409. A request that failed with an error leaves no key behind, so the client may
retry it.
"""

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.response import Response

from novacart.exceptions import Conflict, Unprocessable, ValidationFailed
from novacart.openapi import IDEMPOTENT_REPLAYED_HEADER

from .error_codes import OrderErrorCode
from .lock_objects import lock_idempotency_key
from .models import IdempotencyKey

_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, no spaces
# An in-progress key older than this belongs to a request that died; it may be taken over.
STALE_IN_PROGRESS = timedelta(minutes=2)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict
    replayed: bool


def idempotent_response(stored: StoredResponse) -> Response:
    """The answer to a client: a replay says so in the `Idempotent-Replayed: true` header."""
    response = Response(stored.body, status=stored.status)
    if stored.replayed:
        response[IDEMPOTENT_REPLAYED_HEADER.name] = "true"
    return response


def validate_idempotency_key(raw: str | None) -> str | None:
    """None when no header was sent; the key otherwise. Raises `invalid_idempotency_key`."""
    if raw is None:
        return None
    if not _KEY_PATTERN.match(raw):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            code=OrderErrorCode.INVALID_IDEMPOTENCY_KEY,
            attr="Idempotency-Key",
        )
    return raw


def idempotency_caller(request) -> tuple[object | None, str]:
    """Who a request's Idempotency-Key belongs to: (the signed-in user, "") or, for a guest,
    (None, a digest of their cart token, else of their order token); (None, "") for neither."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user, ""
    for kind, header in (("cart", "X-Cart-Token"), ("order", "X-Order-Token")):
        token = (request.headers.get(header) or "").strip()
        if token:
            return None, hashlib.sha256(f"{kind}:{token}".encode("utf-8", "surrogatepass")).hexdigest()
    return None, ""


def request_fingerprint(payload) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _insert_claim(*, user, guest: str, scope: str, key: str, fingerprint: str) -> int | None:
    """Records the key as in progress and returns the new row's id, or None when (user, scope, key),
    or for a guest (guest, scope, key), is taken. One statement, `INSERT ... ON CONFLICT DO NOTHING
    RETURNING` (PostgreSQL, and SQLite since 3.35), without a conflict target so that either unique
    constraint counts: a taken key is not an error, so there is no savepoint to recover from one.
    The ORM's `bulk_create(ignore_conflicts=True)` says nothing of whether the row went in, hence the SQL."""
    now = timezone.now()
    values = {
        "user": user.pk if user is not None else None,
        "guest": guest if user is None else "",
        "scope": scope,
        "key": key,
        "request_hash": fingerprint,
        "state": IdempotencyKey.State.IN_PROGRESS,
        "created_at": now,
        "updated_at": now,
    }
    meta = IdempotencyKey._meta
    fields = [meta.get_field(name) for name in values]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Only names from the model's own metadata go into the text; every value is a parameter.
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
    sql += f"ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}"
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _claim(*, user, guest: str, scope: str, key: str, fingerprint: str) -> int | StoredResponse:
    """Records the key as in progress (its id), or returns what a previous request with it decided."""
    ttl = timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    now = timezone.now()
    for _attempt in range(3):
        claimed_id = _insert_claim(user=user, guest=guest, scope=scope, key=key, fingerprint=fingerprint)
        if claimed_id is not None:
            return claimed_id
        with transaction.atomic():
            existing = lock_idempotency_key(user=user, guest=guest, scope=scope, key=key)
            if existing is None:
                continue  # deleted in between (a failed first request); claim it again
            expired = existing.created_at < now - ttl
            stale = existing.state == IdempotencyKey.State.IN_PROGRESS and existing.updated_at < now - STALE_IN_PROGRESS
            if expired or stale:
                existing.delete()
                continue
            if existing.request_hash != fingerprint:
                raise Unprocessable(
                    "This Idempotency-Key was already used with a different request body.",
                    code=OrderErrorCode.IDEMPOTENCY_KEY_REUSED,
                )
            if existing.state == IdempotencyKey.State.IN_PROGRESS:
                raise Conflict(
                    "A request with this Idempotency-Key is still being processed; retry shortly.",
                    code=OrderErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS,
                )
            return StoredResponse(existing.response_status, existing.response_body, replayed=True)
    raise Conflict(
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        code=OrderErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS,
    )


def run_idempotent(
    *, user, scope: str, key: str | None, payload, call: Callable[[], tuple[int, dict]], guest: str = ""
) -> StoredResponse:
    """Runs `call` (which returns (status, body)) at most once per (user, scope, key), or for a guest
    (`user` None or anonymous) per (guest, scope, key) (`idempotency_caller`). A guest known by
    nothing runs `call` without the key's protection: there is nobody to scope the key to."""
    if user is not None and not user.is_authenticated:
        user = None
    if key is None or (user is None and not guest):
        status, body = call()
        return StoredResponse(status, body, replayed=False)
    claimed = _claim(user=user, guest=guest, scope=scope, key=key, fingerprint=request_fingerprint(payload))
    if isinstance(claimed, StoredResponse):
        return claimed
    try:
        status, body = call()
    except BaseException:
        IdempotencyKey.objects.filter(pk=claimed).delete()
        raise
    IdempotencyKey.objects.filter(pk=claimed).update(
        state=IdempotencyKey.State.COMPLETED, response_status=status, response_body=body, updated_at=timezone.now()
    )
    return StoredResponse(status, body, replayed=False)


def purge_expired_keys() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
