from django.apps import AppConfig
from django.core import checks

from .checks import production_configuration, shared_cache


class NovaCartConfig(AppConfig):
    """The project package as an app: it owns the checks that span the apps (novacart.checks)."""

    name = "novacart"
    verbose_name = "NovaCart"

    def ready(self):
        # Every run, not only `check --deploy`: migrate and runserver must stop too (novacart.checks).
        checks.register(production_configuration, checks.Tags.security)
        checks.register(shared_cache, checks.Tags.caches, deploy=True)
