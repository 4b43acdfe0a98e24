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
# Recycle workers now and then so a slow leak cannot grow without bound. At 1,000 the benchmark
# saw a worker restart every few seconds under load (a cold worker per restart); 20,000 is hours
# of ordinary traffic per worker.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
accesslog = "-"
errorlog = "-"
# The request id is echoed as X-Request-ID, so access lines can be matched to application lines.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
forwarded_allow_ips = "*"
