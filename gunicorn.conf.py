"""Gunicorn configuration (Render and any other host): `gunicorn novacart.wsgi`.

Everything from the environment: PORT (Render sets it), WEB_CONCURRENCY (workers),
GUNICORN_THREADS, GUNICORN_TIMEOUT. Logs go to stdout/stderr, where the platform collects them.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 1000
max_requests_jitter = 100
accesslog = "-"
errorlog = "-"
# The request id is echoed as X-Request-ID, so access lines can be matched to application lines.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
forwarded_allow_ips = "*"
