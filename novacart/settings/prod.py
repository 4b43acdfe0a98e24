"""Production settings (Render, the benchmark): base settings with DEBUG forced off."""

import os

if os.environ.get("DEBUG", "0").strip().lower() in {"1", "true", "yes", "on"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("novacart.settings.prod refuses DEBUG=1.")
os.environ["DEBUG"] = "0"
os.environ["NOVACART_DEV"] = "0"

from .base import *  # noqa: E402,F403
