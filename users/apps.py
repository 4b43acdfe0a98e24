from django.apps import AppConfig


class UsersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "users"

    def ready(self):
        # Imported for its side effect (drf-spectacular registers the OpenAPI authentication extension
        # on import), and here because it must run once, after the apps are loaded.
        from . import schema  # noqa: F401
