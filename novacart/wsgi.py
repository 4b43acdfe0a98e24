import os

from django.core.wsgi import get_wsgi_application

from novacart.checks import refuse_to_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novacart.settings.base")

application = get_wsgi_application()
# Servers run no system checks: refuse here what `manage.py check` reports (novacart.checks).
refuse_to_start()
