"""Row locks on carts. Call inside `transaction.atomic()`.

The project-wide lock order (CONTRIBUTING.md, "Lock order"): a request's claim row (idempotency
key, webhook event), then cart(s) by primary key, then products by primary key, then the voucher,
then order, then payment. Every helper that locks a row of this app lives here.

A cart write also marks the cart as used (`updated_at`: stale anonymous carts are purged by it). The
`*_touching` helpers lock the row by updating that column, so the lock and the touch are one
statement (an UPDATE locks the row it changes as SELECT ... FOR UPDATE does, until the transaction
ends), and hand the row back with RETURNING, which the ORM's update() cannot; SQLite 3.35+ and
PostgreSQL both have it. Their carts carry `id`, `user_id`, `token`, `voucher_id` and `updated_at`;
other fields load on access.
"""

from collections.abc import Iterable

from django.db import connection

from .models import Cart, new_cart_token

# What a `*_touching` helper reads back, in this order.
_RETURNED = ("id", "user_id", "token", "voucher_id")


def lock_cart(*, cart_id: int) -> Cart | None:
    return Cart.objects.select_for_update().filter(pk=cart_id).order_by().first()


def lock_user_cart(*, user) -> Cart | None:
    """The user's cart, locked (carts are one per user); None when the user has none."""
    return Cart.objects.select_for_update().filter(user=user).order_by().first()


def lock_anonymous_cart(*, token: str) -> Cart | None:
    """The anonymous cart of `token`, locked; None when there is none (merged into a login, purged)."""
    return Cart.objects.select_for_update().filter(token=token, user__isnull=True).order_by().first()


def lock_carts(*, cart_ids: Iterable[int]) -> dict[int, Cart]:
    """Locks several carts in ascending primary-key order (a merge locks two) and returns them by id."""
    carts = Cart.objects.select_for_update().filter(pk__in=sorted(set(cart_ids))).order_by("pk")
    return {cart.pk: cart for cart in carts}


def _column(name: str) -> str:
    return connection.ops.quote_name(Cart._meta.get_field(name).column)


def _db_value(name: str, value):
    """`value` as the ORM would send it for the field (SQLite stores datetimes as naive UTC text)."""
    return Cart._meta.get_field(name).get_db_prep_value(value, connection)


def _returning() -> str:
    return "RETURNING " + ", ".join(_column(name) for name in _RETURNED)


def _cart(row, now) -> Cart | None:
    if row is None:
        return None
    loaded = dict(zip(_RETURNED, row, strict=True), updated_at=now)
    names = [field.attname for field in Cart._meta.concrete_fields if field.attname in loaded]  # from_db's order
    return Cart.from_db(connection.alias, names, [loaded[name] for name in names])


def _update_touching(*, where: str, value, now) -> Cart | None:
    table = connection.ops.quote_name(Cart._meta.db_table)
    # Only our own table and column names are formatted in; the values are parameters.
    sql = f"UPDATE {table} SET {_column('updated_at')} = %s WHERE {where} = %s {_returning()}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [_db_value("updated_at", now), value])
        return _cart(cursor.fetchone(), now)


def lock_cart_touching(*, cart_id: int, now) -> Cart | None:
    """The cart `cart_id`, locked and its `updated_at` set to `now`, in one statement; None when it
    is gone (an anonymous cart merged into a login or purged since it was looked up)."""
    return _update_touching(where=_column("id"), value=cart_id, now=now)


def lock_user_cart_touching(*, user, now) -> Cart | None:
    """The user's cart, locked and touched in one statement; None when the user has none."""
    return _update_touching(where=_column("user"), value=user.pk, now=now)


def lock_user_cart_creating(*, user, now) -> Cart:
    """The user's cart, created when there is none, locked and touched: one statement,
    `INSERT ... ON CONFLICT (user_id) DO UPDATE SET updated_at ... RETURNING`. Two first writes of a
    new user cannot make two carts, nor fail on the unique user: the second one's insert waits for
    the first's row and then updates it (locking it) instead. Outside a transaction it is a
    get-or-create whose lock lasts only while the statement runs."""
    table = connection.ops.quote_name(Cart._meta.db_table)
    columns = [_column(name) for name in ("user", "token", "created_at", "updated_at")]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES (%s, %s, %s, %s) "  # noqa: S608 (as above)
        f"ON CONFLICT ({_column('user')}) DO UPDATE SET {_column('updated_at')} = EXCLUDED.{_column('updated_at')} "
        f"{_returning()}"
    )
    stamp = _db_value("updated_at", now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, new_cart_token(), stamp, stamp])
        return _cart(cursor.fetchone(), now)
