"""The Django side of the bench: data, tokens, request lists, query counts, the contention check.

Run by bench/run.py as a subprocess with the same environment as the server it is about to start
(DJANGO_SETTINGS_MODULE=novacart.settings.bench, DATABASE_URL of the database being prepared,
CATALOG_CACHE_SECONDS, throttle rates), so the queries counted here are the queries the server
sends. Never imported by the application.

    python -m bench.prepare main --products N --buyers B --out DIR   # catalog + users, carts, orders
    python -m bench.prepare size --products N --out DIR              # catalog only (size comparison)
    python -m bench.prepare verify-contention --out DIR              # after the contention run

Exit status 3 means "this database holds another catalog": run.py then recreates the database
(only one the bench created itself) and calls again.
"""

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

CATALOG_MISMATCH = 3
SEED = 1729
HOT_STOCK = 1_000_000
CONTENTION_SKU = "BENCH-CONTENTION-1"
CONTENTION_STOCK = 10
CONTENTION_BUYERS = 100
EMAIL_DOMAIN = "bench.invalid"
# Pool sizes: enough distinct users that no request repeats a user's state in a way the API would
# refuse (cart lines are capped at CART_MAX_QUANTITY; each checkout needs its own full cart).
CART_READ_USERS = 50
CART_ADD_USERS = 211  # coprime with the product pool, so (user, product) pairs repeat only after 211*P requests
ORDER_LIST_USERS = 50
ORDERS_PER_LIST_USER = 10
HOT_PRODUCTS = 300
CART_ADD_REQUESTS = 20_000  # more than a 15 s run sends; the list wraps around after that
DETAIL_IDS = 500
PREVIEW_USERS = 50
# The priced checkout (issue 17): buyers in the United Kingdom, where the demo shop charges VAT, with
# this voucher on their carts (one use each; enough uses for every buyer) and this shipping method.
PRICED_COUNTRY = "GB"
PRICED_SHIPPING = "Next-day courier"  # a flat price, never free: every order has a shipping line
PLAIN_SHIPPING = "USPS Ground"  # the plain checkout's (United States: no tax rate, no voucher)
BENCH_VOUCHER = "BENCH10"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novacart.settings.bench")
    import django

    django.setup()


def log(message: str) -> None:
    print(f"  [prepare] {message}", file=sys.stderr, flush=True)


# --- Schema and catalog ----------------------------------------------------------------------------


def migrate() -> None:
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    log(f"migrations applied ({time.monotonic() - started:.1f}s)")


def ensure_catalog(products: int) -> None:
    """The synthetic catalog of exactly `products` products, built once and then reused."""
    from django.core.management import call_command

    from products.models import Product

    existing = Product.objects.filter(sku__startswith="SYN-").count()
    if existing == products:
        log(f"catalog of {products:,} synthetic products already there, reused")
        _analyze()
        return
    if existing or Product.objects.exclude(sku=CONTENTION_SKU).exists():
        log(f"database holds {existing:,} synthetic products, {products:,} wanted")
        raise SystemExit(CATALOG_MISMATCH)
    started = time.monotonic()
    call_command("import_products", "--synthetic", str(products), "--quiet", verbosity=0)
    created = Product.objects.filter(sku__startswith="SYN-").count()
    if created != products:
        raise SystemExit(f"the synthetic import created {created} products, {products} expected")
    log(f"catalog of {products:,} products built by import_products --synthetic ({time.monotonic() - started:.1f}s)")
    _analyze()


def _analyze() -> None:
    """Fresh planner statistics (and, on PostgreSQL, the visibility map that index-only scans need),
    as autovacuum would leave a catalog that has been live for a while."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# --- Request lists ---------------------------------------------------------------------------------


def _line(method: str, path: str, token: str = "-", idempotency_key: str = "-", body: dict | None = None) -> str:
    """One request for bench/lua/requests.lua: tab-separated method, path, token, key, JSON body."""
    payload = json.dumps(body, separators=(",", ":")) if body is not None else ""
    return "\t".join((method, path, token, idempotency_key, payload))


def _write_requests(out: Path, name: str, lines: list[str]) -> str:
    path = out / "requests" / f"{name}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _sample_products():
    """The first 1,000 synthetic products: the same rows in every catalog size (SKUs are deterministic)."""
    from products.models import Product

    return list(
        Product.objects.filter(sku__startswith="SYN-", sku__lte="SYN-001000")
        .order_by("sku")
        .values("id", "name", "price", "category_id")
    )


def list_queries() -> list[str]:
    """Product list pages: the first page of a category, within a mid-range price band, ordered by price.
    The categories are the three the sample uses most and the band is the sample's middle half of prices,
    so every catalog size gets the same URLs (and each matches a share of its catalog)."""
    from products.models import Category

    sample = _sample_products()
    prices = sorted(row["price"] for row in sample)
    low = prices[len(prices) // 4].quantize(Decimal("1"))
    high = prices[(len(prices) * 3) // 4].quantize(Decimal("1"))
    slugs = dict(Category.objects.filter(is_active=True).values_list("id", "slug"))
    used = Counter(row["category_id"] for row in sample if row["category_id"] in slugs)
    chosen = sorted(slugs[cid] for cid, _n in used.most_common(3))
    return [f"?category={slug}&min_price={low}&max_price={high}&ordering=price" for slug in chosen]


def search_terms() -> list[str]:
    """Words of product names that a shopper would type: each matches a few per cent of the sample."""
    sample = _sample_products()
    frequency = Counter()
    for row in sample:
        frequency.update({word.lower() for word in row["name"].split() if word.isalpha() and len(word) >= 4})
    total = max(len(sample), 1)
    ranked = sorted(frequency.items(), key=lambda item: (abs(item[1] / total - 0.03), item[0]))
    return [word for word, _n in ranked[:3]] or ["product"]


def search_phrases() -> list[str]:
    """Two-word searches as a shopper types them, the second word not finished ("canvas charg"): a
    material and the start of a noun, for the three pairs the sample holds most (each in a fraction
    of a per cent of the catalog, whatever its size)."""
    pairs = Counter()
    for row in _sample_products():
        words = row["name"].lower().split()
        if len(words) >= 3:
            pairs[(words[1], words[2])] += 1
    chosen = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))[:3]
    return [f"{material} {noun[: max(3, len(noun) - 2)]}" for (material, noun), _n in chosen] or ["product"]


def catalog_requests(out: Path) -> dict:
    from products.models import Product

    scenarios = {}
    queries = list_queries()
    scenarios["product_list"] = [_line("GET", f"/api/products/{q}") for q in queries]
    scenarios["floor_list"] = [_line("GET", f"/bench/floor/products/{q}") for q in queries]
    scenarios["search"] = [_line("GET", f"/api/products/?search={term}") for term in search_terms()]
    scenarios["search_words"] = [_line("GET", f"/api/products/?search={quote(phrase)}") for phrase in search_phrases()]
    ids = list(Product.objects.filter(sku__startswith="SYN-", is_active=True).values_list("id", flat=True))
    detail_ids = random.Random(SEED).sample(ids, min(DETAIL_IDS, len(ids)))
    scenarios["product_detail"] = [_line("GET", f"/api/products/{pid}/") for pid in detail_ids]
    scenarios["floor_detail"] = [_line("GET", f"/bench/floor/products/{pid}/") for pid in detail_ids]
    # The detail of products in several variants: its options and variants are the part that grows.
    ids = list(
        Product.objects.filter(sku__startswith="SYN-", is_active=True, variant_count__gt=1).values_list("id", flat=True)
    )
    detail_ids = random.Random(SEED).sample(ids, min(DETAIL_IDS, len(ids)))
    scenarios["product_detail_variants"] = [_line("GET", f"/api/products/{pid}/") for pid in detail_ids]
    scenarios["category_tree"] = [_line("GET", "/api/categories/")]
    return scenarios


# --- Users, carts, addresses, orders ---------------------------------------------------------------


def flush_user_data() -> None:
    """Empties every table that holds users or what they own (the bench's own database only), so each
    run starts from the same state; the catalog stays."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    keep = {"products.category", "products.product", "products.productvariant", "products.productimage"}
    owned_apps = {
        "users",
        "cart",
        "addresses",
        "orders",
        "payments",
        "products",
        "token_blacklist",
        "sessions",
        "admin",
    }
    tables = [
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in owned_apps and model._meta.label_lower not in keep and not model._meta.proxy
    ]
    existing = set(connection.introspection.table_names())
    tables = [table for table in tables if table in existing]
    with connection.cursor() as cursor:
        for statement in connection.ops.sql_flush(no_style(), tables, allow_cascade=True):
            cursor.execute(statement)


def _make_users(role: str, count: int):
    from django.contrib.auth.hashers import make_password

    from users.models import User

    password = make_password(f"bench-{role}-password")  # nobody logs in: the bench mints tokens
    users = [
        User(email=f"bench-{role}-{i:05d}@{EMAIL_DOMAIN}", first_name="Bench", last_name=role, password=password)
        for i in range(count)
    ]
    return User.objects.bulk_create(users, batch_size=1000)


def _token(user) -> str:
    from users.services import tokens_for_user

    return tokens_for_user(user)["access"]


# Where the bench's buyers live: the United States (no tax rate in the demo shop) or the United Kingdom.
ADDRESSES = {
    "US": {"phone": "+15550100", "city": "Springfield", "state": "IL", "postal_code": "62701"},
    "GB": {"phone": "+442079460000", "city": "London", "state": "", "postal_code": "SW1A 1AA"},
}


def _addresses(users, country: str = "US") -> dict[int, int]:
    from addresses.models import Address

    rows = Address.objects.bulk_create(
        [
            Address(
                user=user,
                full_name=f"Bench Buyer {user.pk}",
                line1=f"{user.pk} Benchmark Road",
                country=country,
                is_default=True,
                **ADDRESSES[country],
            )
            for user in users
        ],
        batch_size=1000,
    )
    return {row.user_id: row.pk for row in rows}


def _shop_pricing(voucher_uses: int) -> dict[str, int]:
    """The demo shop's shipping zones, methods and tax rates (`manage.py seed_checkout_demo`, what
    `make run` seeds) and the bench's voucher, 10% off with `voucher_uses` uses. Returns the ids of
    the shipping methods by name. With shipping configured, every order names a method (API.md)."""
    import io

    from django.core.management import call_command

    from orders.models import ShippingMethod, Voucher, VoucherKind

    call_command("seed_checkout_demo", stdout=io.StringIO())
    Voucher.objects.create(
        code=BENCH_VOUCHER,
        kind=VoucherKind.PERCENT,
        value=Decimal("10"),
        usage_limit=voucher_uses,
        per_customer_limit=1,
    )
    return dict(ShippingMethod.objects.values_list("name", "id"))


def _apply_voucher(users) -> None:
    """The bench's voucher on these users' carts, as POST /api/cart/voucher/ leaves it."""
    from cart.models import Cart
    from orders.models import Voucher

    Cart.objects.filter(user__in=users).update(voucher=Voucher.objects.get(code=BENCH_VOUCHER))


def _fill_carts(users, lines_for) -> None:
    """A cart per user holding `lines_for(user)`: (variant row of _hot_variants, quantity) pairs."""
    from cart.models import Cart, CartItem

    carts = Cart.objects.bulk_create([Cart(user=user) for user in users], batch_size=1000)
    items = []
    for cart, user in zip(carts, users, strict=True):
        for row, quantity in lines_for(user):
            items.append(CartItem(cart=cart, product_id=row["product_id"], variant_id=row["id"], quantity=quantity))
    CartItem.objects.bulk_create(items, batch_size=2000)


def _variant_rows(variant_ids: list[int]) -> list[dict]:
    """What carts and order lines need of these variants, in the order given."""
    from products.models import ProductVariant

    rows = ProductVariant.objects.filter(pk__in=variant_ids).values(
        "id", "product_id", "product__name", "sku", "name", "options", "price"
    )
    by_id = {row["id"]: row for row in rows}
    return [by_id[variant_id] for variant_id in variant_ids]


def _hot_variants() -> list[dict]:
    """The variants that carts and orders use, one of each of the first HOT_PRODUCTS products (the same
    rows in every catalog size): of a product in several variants, the k-th product's k-th variant
    (mod their number), so carts hold sizes and colours, not only first variants. Their stock is made
    so high that no run sells them out."""
    from products.models import Product, ProductVariant
    from products.services import product_refresh_derived

    product_ids = list(
        Product.objects.filter(sku__startswith="SYN-", is_active=True)
        .order_by("sku")
        .values_list("id", flat=True)[:HOT_PRODUCTS]
    )
    variants: dict[int, list[int]] = {product_id: [] for product_id in product_ids}
    for variant_id, product_id in (
        ProductVariant.objects.filter(product_id__in=product_ids, is_active=True)
        .order_by("position", "pk")
        .values_list("id", "product_id")
    ):
        variants[product_id].append(variant_id)
    chosen = [variants[pid][k % len(variants[pid])] for k, pid in enumerate(product_ids) if variants[pid]]
    ProductVariant.objects.filter(pk__in=chosen).update(stock=HOT_STOCK)
    product_refresh_derived(product_ids=product_ids)
    rows = _variant_rows(chosen)
    for row in rows:
        row["in_variants"] = len(variants[row["product_id"]]) > 1
    return rows


def _contention_variant(category_id) -> dict:
    """The product sold in one form that the racers fight over, with its stock reset to CONTENTION_STOCK."""
    from products.models import Product, ProductVariant
    from products.services import product_refresh_derived

    product, _created = Product.objects.update_or_create(
        sku=CONTENTION_SKU,
        defaults={
            "name": "Bench limited edition",
            "slug": "bench-contention-1",
            "price": Decimal("49.00"),
            "option_names": [],
            "is_active": True,
            "category_id": category_id,
        },
    )
    variant, _created = ProductVariant.objects.update_or_create(
        sku=CONTENTION_SKU,
        defaults={
            "product": product,
            "price": Decimal("49.00"),
            "stock": CONTENTION_STOCK,
            "options": {},
            "is_active": True,
        },
    )
    product_refresh_derived(product_ids=[product.pk])
    return _variant_rows([variant.pk])[0]


def _seed_orders(users, hot: list[dict]) -> None:
    from django.conf import settings

    from orders.models import Order, OrderItem, OrderStatus, OrderStatusChange

    statuses = [OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED]
    rng = random.Random(SEED)
    orders, lines = [], []
    for user in users:
        for k in range(ORDERS_PER_LIST_USER):
            picked = rng.sample(hot, 2)
            line_totals = [row["price"] * (j + 1) for j, row in enumerate(picked)]
            subtotal = sum(line_totals, Decimal("0"))
            orders.append(
                Order(
                    number=f"B{user.pk:06d}{k:02d}",
                    user=user,
                    status=statuses[k % len(statuses)],
                    payment_method="card",
                    shipping_address={
                        "full_name": "Bench Buyer",
                        "phone": "+15550100",
                        "line1": "1 Benchmark Road",
                        "line2": "",
                        "city": "Springfield",
                        "state": "IL",
                        "postal_code": "62701",
                        "country": "US",
                        "address_type": "HOME",
                    },
                    subtotal=subtotal,
                    total=subtotal,
                    currency=settings.STORE_CURRENCY,
                )
            )
            lines.append([(row, j + 1, total) for j, (row, total) in enumerate(zip(picked, line_totals, strict=True))])
    orders = Order.objects.bulk_create(orders, batch_size=1000)
    items, history = [], []
    for order, order_lines in zip(orders, lines, strict=True):
        for row, quantity, line_total in order_lines:
            items.append(
                OrderItem(
                    order=order,
                    product_id=row["product_id"],
                    variant_id=row["id"],
                    product_name=row["product__name"],
                    sku=row["sku"],
                    variant_name=row["name"],
                    options=row["options"],
                    unit_price=row["price"],
                    quantity=quantity,
                    line_total=line_total,
                )
            )
        history.append(OrderStatusChange(order=order, from_status="", to_status=OrderStatus.PENDING))
    OrderItem.objects.bulk_create(items, batch_size=2000)
    OrderStatusChange.objects.bulk_create(history, batch_size=2000)


def seed_users(out: Path, *, buyers: int, run_id: str) -> tuple[dict, dict]:
    """Every user the load needs, with a minted access token each. Returns (scenarios, contention)."""
    from django.db import transaction

    started = time.monotonic()
    with transaction.atomic():
        flush_user_data()
        hot = _hot_variants()
        scenarios = {}

        readers = _make_users("cart-read", CART_READ_USERS)
        _fill_carts(readers, lambda user: [(hot[(user.pk * 7 + j) % len(hot)], j + 1) for j in range(3)])
        scenarios["cart_read"] = [_line("GET", "/api/cart/", _token(user)) for user in readers]

        # cart_add: the form of clients that know no variants (product_id, products sold in one form);
        # cart_add_variant: variant_id, a size or colour of a product in several, with users of its own.
        one_form = [row for row in hot if not row["in_variants"]] or hot
        in_variants = [row for row in hot if row["in_variants"]] or hot
        scenarios["cart_add"] = _cart_add_lines(
            _make_users("cart-add", CART_ADD_USERS), [{"product_id": row["product_id"]} for row in one_form]
        )
        scenarios["cart_add_variant"] = _cart_add_lines(
            _make_users("cart-add-variant", CART_ADD_USERS), [{"variant_id": row["id"]} for row in in_variants]
        )

        listers = _make_users("order-list", ORDER_LIST_USERS)
        _seed_orders(listers, hot)
        scenarios["order_list"] = [_line("GET", "/api/orders/my/", _token(user)) for user in listers]

        # Checkout: each request is a different buyer with a full cart and a default address; the
        # Lua script sends each line once and stops before the list runs out. order_create: in the
        # United States (shipping, no tax, no voucher); order_create_priced: in the United Kingdom,
        # with VAT and the voucher. checkout_preview prices such a cart and writes nothing.
        methods = _shop_pricing(voucher_uses=buyers)  # one per priced buyer; a preview uses none

        def two_lines(user):
            return [(hot[(user.pk * 13 + j) % len(hot)], 1 + j) for j in range(2)]

        checkout = _make_users("buyer", buyers)
        address_of = _addresses(checkout)
        _fill_carts(checkout, two_lines)
        scenarios["order_create"] = [
            _line(
                "POST",
                "/api/orders/create/",
                _token(user),
                f"{run_id}-{user.pk}",
                {
                    "shipping_address_id": address_of[user.pk],
                    "shipping_method_id": methods[PLAIN_SHIPPING],
                    "payment_method": "card",
                },
            )
            for user in checkout
        ]
        priced = _make_users("priced-buyer", buyers)
        address_of = _addresses(priced, PRICED_COUNTRY)
        _fill_carts(priced, two_lines)
        _apply_voucher(priced)
        scenarios["order_create_priced"] = [
            _line(
                "POST",
                "/api/orders/create/",
                _token(user),
                f"{run_id}-priced-{user.pk}",
                {
                    "shipping_address_id": address_of[user.pk],
                    "shipping_method_id": methods[PRICED_SHIPPING],
                    "payment_method": "card",
                },
            )
            for user in priced
        ]
        previewers = _make_users("preview", PREVIEW_USERS)
        address_of = _addresses(previewers, PRICED_COUNTRY)
        _fill_carts(previewers, two_lines)
        _apply_voucher(previewers)
        scenarios["checkout_preview"] = [
            _line(
                "POST",
                "/api/checkout/preview/",
                _token(user),
                body={"shipping_address_id": address_of[user.pk], "shipping_method_id": methods[PRICED_SHIPPING]},
            )
            for user in previewers
        ]

        limited = _contention_variant(_first_category_id())
        racers = _make_users("racer", CONTENTION_BUYERS)
        racer_address = _addresses(racers)
        _fill_carts(racers, lambda user: [(limited, 1)])
        contention = {
            "product_id": limited["product_id"],
            "initial_stock": CONTENTION_STOCK,
            "requests": [
                {
                    "token": _token(user),
                    "idempotency_key": f"{run_id}-race-{user.pk}",
                    "body": {
                        "shipping_address_id": racer_address[user.pk],
                        "shipping_method_id": methods[PLAIN_SHIPPING],
                        "payment_method": "card",
                    },
                }
                for user in racers
            ],
        }
    _analyze()
    log(f"users, carts, addresses and orders seeded ({time.monotonic() - started:.1f}s)")
    return scenarios, contention


def _cart_add_lines(adders, targets: list[dict]) -> list[str]:
    """Request i adds target i mod P for user i mod U: a (user, target) pair comes back only after U*P
    requests, so no line reaches the quantity cap and carts grow slowly, as a shopper's would."""
    tokens = [_token(user) for user in adders]
    return [
        _line("POST", "/api/cart/add/", tokens[i % len(tokens)], body={**targets[i % len(targets)], "quantity": 1})
        for i in range(min(len(tokens) * len(targets), CART_ADD_REQUESTS))
    ]


def _first_category_id():
    from products.models import Category

    return Category.objects.order_by("id").values_list("id", flat=True).first()


# --- Query counts ----------------------------------------------------------------------------------


def _parse(line: str):
    method, path, token, key, body = line.split("\t", 4)
    return method, path, (None if token == "-" else token), (None if key == "-" else key), body


def count_queries(scenarios: dict[str, list[str]]) -> dict[str, dict]:
    """Calls each scenario's request in-process (Django's test client, the full middleware stack,
    the same database and settings as the server) and counts the SQL it sends. The second call is the
    one reported, so one-time work (content types, URL resolver) is not counted; POST scenarios use
    two different lines, so the second call is as fresh as every request of the load."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", raise_request_exception=False)
    counts = {}
    for name, lines in scenarios.items():
        if not lines:
            continue
        picked = [lines[0], lines[0]] if _parse(lines[0])[0] == "GET" else lines[-2:]
        result = {}
        for line in picked:
            method, path, token, key, body = _parse(line)
            headers = {}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            if key:
                headers["Idempotency-Key"] = key
            with CaptureQueriesContext(connection) as captured:
                response = client.generic(method, path, data=body, content_type="application/json", headers=headers)
            result = {"queries": len(captured.captured_queries), "status": response.status_code}
        counts[name] = result
    return counts


def floor_check(scenarios: dict[str, list[str]]) -> dict[str, bool]:
    """Whether the floor answers the same page as the API (count and results; links are built
    differently), so the ratio compares like with like. A mismatch is reported, not fatal."""
    import json as _json

    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", raise_request_exception=False)
    checks = {}
    for api, floor in (("product_list", "floor_list"), ("product_detail", "floor_detail")):
        if not scenarios.get(api) or not scenarios.get(floor):
            continue
        a = client.get(_parse(scenarios[api][0])[1])
        f = client.get(_parse(scenarios[floor][0])[1])
        if a.status_code != 200 or f.status_code != 200:
            checks[api] = False
            continue
        a_body, f_body = _json.loads(a.content), _json.loads(f.content)
        if api == "product_list":
            checks[api] = (a_body["count"], a_body["results"]) == (f_body["count"], f_body["results"])
        else:
            checks[api] = a_body == f_body
        if not checks[api]:
            log(f"warning: the floor's answer differs from {api}'s; the ratio compares different work")
    return checks


# --- Contention check ------------------------------------------------------------------------------


def verify_contention(plan: dict) -> dict:
    from django.db.models import Sum

    from orders.models import Order, OrderItem
    from products.models import ProductVariant

    spec = plan["contention"]
    product_id = spec["product_id"]
    # The variants' stock, not the product's copy of it: the count that checkout moves.
    stock = ProductVariant.objects.filter(product_id=product_id).aggregate(n=Sum("stock"))["n"] or 0
    sold = OrderItem.objects.filter(product_id=product_id).aggregate(n=Sum("quantity"))["n"] or 0
    orders = Order.objects.filter(items__product_id=product_id).distinct().count()
    initial = spec["initial_stock"]
    return {
        "stock_after": stock,
        "units_sold": sold,
        "orders_in_db": orders,
        "oversold_units": max(0, sold - initial) + max(0, -stock),
        "units_lost": initial - sold - stock,
    }


# --- Entry point -----------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prepare")
    parser.add_argument("command", choices=["main", "size", "verify-contention"])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--buyers", type=int, default=3000)
    parser.add_argument("--run-id", default="bench")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    _setup_django()
    args.out.mkdir(parents=True, exist_ok=True)
    plan_path = args.out / "plan.json"

    if args.command == "verify-contention":
        print(json.dumps(verify_contention(json.loads(plan_path.read_text()))))
        return 0

    migrate()
    ensure_catalog(args.products)
    scenarios = catalog_requests(args.out)
    plan = {"products": args.products}
    if args.command == "main":
        user_scenarios, plan["contention"] = seed_users(args.out, buyers=args.buyers, run_id=args.run_id)
        scenarios.update(user_scenarios)
    else:
        scenarios = {name: scenarios[name] for name in ("product_list", "search", "search_words")}
    plan["query_counts"] = count_queries(scenarios)
    plan["floor_matches_api"] = floor_check(scenarios)
    for name in ("order_create", "order_create_priced"):
        if name in scenarios:
            scenarios[name] = scenarios[name][:-2]  # the query count placed the last two orders
    plan["requests"] = {name: _write_requests(args.out, name, lines) for name, lines in scenarios.items()}
    plan["sizes"] = {name: len(lines) for name, lines in scenarios.items()}
    plan_path.write_text(json.dumps(plan, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
