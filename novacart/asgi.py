import os

from django.core.asgi import get_asgi_application

from novacart.checks import refuse_to_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novacart.settings.base")

application = get_asgi_application()
# Servers run no system checks: refuse here what `manage.py check` reports (novacart.checks).
refuse_to_start()
