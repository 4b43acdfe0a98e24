from django.apps import AppConfig


class ProductsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "products"

    def ready(self):
        # Registers the catalog's system checks (products.E001: product images that are never served).
        from . import checks  # noqa: F401
