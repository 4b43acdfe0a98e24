"""`python manage.py import_products [path] [--quiet] [--synthetic N] [--batch-size N]`

Loads a catalog from JSON (default fixtures/demo_catalog.json) through products/catalog_import.py, which
describes the file shape and the rules: validated whole, written in one transaction, idempotent (which
is why `make run` can call it on every start). A bad file writes nothing and exits with status 1.

`--synthetic N` adds N generated products (SKUs SYN-000001...; about a third in 2 to 6 sizes and/or
colours) in a few categories with bulk inserts, skipping SKUs that already exist
(products/synthetic_catalog.py): the load benchmark uses it for 1,000 / 10,000 / 100,000 products.
"""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from products.catalog_import import CatalogInvalid, ProgressCallback, catalog_import, load_catalog
from products.synthetic_catalog import synthetic_catalog_generate

DEFAULT_PATH = "fixtures/demo_catalog.json"
FILE_PROGRESS_MIN_PRODUCTS = 1000  # a smaller file is imported in a blink: no progress line for it


class Progress:
    """One self-overwriting line on stderr, fed by a service's `progress(done, total)` calls; the call
    with done == total ends the line with the time taken. Totals under `minimum_total` show nothing."""

    def __init__(self, stream, label: str, *, minimum_total: int = 1):
        self.stream, self.label, self.minimum_total = stream, label, minimum_total
        self.started: float | None = None

    def __call__(self, done: int, total: int) -> None:
        if total < self.minimum_total:
            return
        if self.started is None:
            self.started = time.monotonic()
        if done % max(1, total // 100) == 0 or done == total:
            self.stream.write(f"\r{self.label}: {done}/{total}", ending="")
            self.stream.flush()
        if done == total:
            elapsed = time.monotonic() - self.started
            self.stream.write(f"\r{self.label}: {total}/{total} ({elapsed:.1f}s)")


class Command(BaseCommand):
    help = "Import a product catalog from JSON (idempotent), or generate a synthetic one with --synthetic N."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help=f"catalog JSON file (default {DEFAULT_PATH})")
        parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
        parser.add_argument("--synthetic", type=int, metavar="N", help="generate N synthetic products (SYN-000001...)")
        parser.add_argument("--batch-size", type=int, default=2000, help="rows per bulk insert (synthetic)")

    def handle(self, *args, path=None, quiet=False, synthetic=None, batch_size=2000, **options):
        self.quiet = quiet
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if synthetic is not None and not 1 <= synthetic <= 10_000_000:
            raise CommandError("--synthetic N needs 1 <= N <= 10000000")
        if path or synthetic is None:
            self.import_file(Path(path) if path else Path(settings.BASE_DIR) / DEFAULT_PATH)
        if synthetic is not None:
            self.generate_synthetic(synthetic, batch_size)

    def say(self, message: str) -> None:
        if not self.quiet:
            self.stdout.write(message)

    def progress(self, label: str, *, minimum_total: int = 1) -> ProgressCallback | None:
        return None if self.quiet else Progress(self.stderr, label, minimum_total=minimum_total)

    def import_file(self, path: Path) -> None:
        try:
            catalog = load_catalog(path)
        except CatalogInvalid as exc:
            raise CommandError(str(exc)) from exc
        stats = catalog_import(
            catalog=catalog, progress=self.progress("Products", minimum_total=FILE_PROGRESS_MIN_PRODUCTS)
        )
        self.say(
            f"Imported {path}: categories {stats.categories_created} created, {stats.categories_updated} updated; "
            f"products {stats.products_created} created, {stats.products_updated} updated, "
            f"{stats.products_unchanged} unchanged; variants {stats.variants_created} created, "
            f"{stats.variants_updated} updated, {stats.variants_unchanged} unchanged; "
            f"{stats.images_copied} images copied."
        )

    def generate_synthetic(self, count: int, batch_size: int) -> None:
        started = time.monotonic()
        created = synthetic_catalog_generate(
            count=count, batch_size=batch_size, progress=self.progress("Synthetic products")
        )
        self.say(
            f"Synthetic catalog: {created} products created, {count - created} already present "
            f"({time.monotonic() - started:.1f}s)."
        )
