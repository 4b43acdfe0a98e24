from django.apps import AppConfig


class NovaCartConfig(AppConfig):
    """The project package as an app, so that its deployment checks are registered."""

    name = "novacart"

    def ready(self):
        # Imported for its side effect (the @register decorators), after the apps are loaded.
        from . import checks  # noqa: F401
