"""Settings for the load benchmark (bench/): production settings plus the floor reference views.

Everything that matters for speed is exactly what `novacart.settings.prod` does (DEBUG off, the
same middleware, renderers, authentication and throttling); the bench only mounts its own URLconf,
which serves the public API unchanged and adds the floor views under /bench/. Nothing here is used
by the application itself.
"""

from .prod import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
