from django.apps import AppConfig, apps
from django.core import checks
from django.db.models.signals import post_migrate

from .checks import production_configuration, shared_cache


class NovaCartConfig(AppConfig):
    """The project package as an app: it owns the checks that span the apps (novacart.checks)."""

    name = "novacart"
    verbose_name = "NovaCart"

    def ready(self):
        # Every run, not only `check --deploy`: migrate and runserver must stop too (novacart.checks).
        checks.register(production_configuration, checks.Tags.security)
        checks.register(shared_cache, checks.Tags.caches, deploy=True)
        # Imported here: novacart.permissions imports DRF, which needs the settings loaded.
        from .permissions import sync_roles_after_migrate

        # post_migrate is sent once per app with models; the users app stands for "after migrate".
        post_migrate.connect(
            sync_roles_after_migrate, sender=apps.get_app_config("users"), dispatch_uid="novacart.sync_roles"
        )
