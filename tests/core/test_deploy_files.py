"""render.yaml and gunicorn.conf.py stay consistent with what the settings read."""

import runpy
from pathlib import Path

import yaml

from tests.core.test_settings import _settings_variable_names

REPO = Path(__file__).resolve().parents[2]
PLATFORM_VARIABLES = {"PYTHON_VERSION", "DJANGO_SETTINGS_MODULE", "WEB_CONCURRENCY"}


def _blueprint():
    return yaml.safe_load((REPO / "render.yaml").read_text())


def _service(blueprint, service_type):
    (service,) = [s for s in blueprint["services"] if s["type"] == service_type]
    return service


def _service_named(blueprint, name):
    (service,) = [s for s in blueprint["services"] if s["name"] == name]
    return service


def _env(service):
    return {item["key"]: item for item in service["envVars"] if "key" in item}


def test_web_service_builds_migrates_and_serves_with_production_settings():
    web = _service(_blueprint(), "web")

    assert web["runtime"] == "python"
    assert "pip install -r requirements.txt" in web["buildCommand"]
    assert "collectstatic --noinput" in web["buildCommand"]
    assert "DJANGO_SETTINGS_MODULE=novacart.settings.prod" in web["buildCommand"]
    assert "migrate" in web["preDeployCommand"]
    assert web["startCommand"].startswith("gunicorn novacart.wsgi")
    # Liveness (the database only): a cache or broker outage must not make Render restart every instance.
    assert web["healthCheckPath"] == "/api/health/live/"
    env = _env(web)
    assert env["DJANGO_SETTINGS_MODULE"]["value"] == "novacart.settings.prod"
    assert env["SECRET_KEY"].get("generateValue") is True
    assert env["DATABASE_URL"]["fromDatabase"] == {"name": "novacart-db", "property": "connectionString"}
    assert env["REDIS_URL"]["fromService"] == {
        "type": "keyvalue",
        "name": "novacart-cache",
        "property": "connectionString",
    }
    assert env["CELERY_BROKER_URL"]["fromService"] == {
        "type": "keyvalue",
        "name": "novacart-broker",
        "property": "connectionString",
    }
    for key in (
        "STRIPE_SECRET_KEY",
        "STRIPE_PUBLISHABLE_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "AWS_STORAGE_BUCKET_NAME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_S3_REGION_NAME",
        "AWS_S3_ENDPOINT_URL",
        "CLOUDINARY_CLOUD_NAME",
        "CLOUDINARY_API_KEY",
        "CLOUDINARY_API_SECRET",
        "RESEND_API_KEY",
        "EMAIL_HOST",
        "EMAIL_HOST_USER",
        "EMAIL_HOST_PASSWORD",
        "ALLOWED_HOSTS",
        "CORS_ALLOWED_ORIGINS",
        "CSRF_TRUSTED_ORIGINS",
        "FRONTEND_URL",
        "SENTRY_DSN",
        "SENTRY_TRACES_SAMPLE_RATE",
    ):
        assert env[key].get("sync") is False, key
        assert "value" not in env[key], key


def test_worker_runs_celery_with_beat_against_the_same_database_and_broker():
    blueprint = _blueprint()
    worker = _service(blueprint, "worker")

    assert worker["startCommand"].startswith("celery -A novacart worker -B")
    env = _env(worker)
    assert env["DJANGO_SETTINGS_MODULE"]["value"] == "novacart.settings.prod"
    assert env["DATABASE_URL"]["fromDatabase"]["name"] == "novacart-db"
    assert env["CELERY_BROKER_URL"]["fromService"]["name"] == "novacart-broker"
    assert env["REDIS_URL"]["fromService"]["name"] == "novacart-cache"
    assert env["SECRET_KEY"]["fromService"] == {"type": "web", "name": "novacart-web", "envVarKey": "SECRET_KEY"}


def test_the_worker_sends_mail_and_builds_links_with_the_apis_configuration():
    """The worker refuses to start without a mail service or FRONTEND_URL (novacart.checks), like the API."""
    env = _env(_service(_blueprint(), "worker"))

    for key in ("RESEND_API_KEY", "EMAIL_HOST", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "FRONTEND_URL"):
        assert env[key]["fromService"] == {"type": "web", "name": "novacart-web", "envVarKey": key}, key


def test_the_cache_and_the_broker_are_separate_key_value_instances_with_their_own_policies():
    """Issue 13, flaw 1: one `noeviction` Redis held the response cache, the throttle counters and the
    broker, so anonymous catalog reads could fill it and every write (throttles first) failed.
    maxmemory and its policy are per instance (not per database index), hence two instances: the
    cache evicts its least recently used keys when full, the broker never drops a queued task."""
    blueprint = _blueprint()
    key_values = {s["name"]: s for s in blueprint["services"] if s["type"] == "keyvalue"}

    assert set(key_values) == {"novacart-cache", "novacart-broker"}
    assert key_values["novacart-cache"]["maxmemoryPolicy"] == "allkeys-lru"
    assert key_values["novacart-broker"]["maxmemoryPolicy"] == "noeviction"
    for service in key_values.values():
        assert service["ipAllowList"] == []  # reachable only from this account's services
    for name in ("novacart-web", "novacart-worker"):
        env = _env(_service_named(blueprint, name))
        assert env["REDIS_URL"]["fromService"]["name"] == "novacart-cache", name
        assert env["CELERY_BROKER_URL"]["fromService"]["name"] == "novacart-broker", name


def test_every_variable_in_the_blueprint_is_one_the_app_reads():
    known = _settings_variable_names() | PLATFORM_VARIABLES
    blueprint = _blueprint()
    web_keys = set(_env(_service(blueprint, "web")))

    for service in blueprint["services"]:
        for key, item in _env(service).items() if "envVars" in service else ():
            assert key in known, f"{service['name']}: {key} is not read by the settings"
            reference = item.get("fromService", {})
            if reference.get("type") == "web":
                assert reference["envVarKey"] in web_keys, key
    assert blueprint["databases"][0]["name"] == "novacart-db"


def test_gunicorn_config_reads_port_and_concurrency(monkeypatch):
    monkeypatch.setenv("PORT", "10000")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")

    config = runpy.run_path(str(REPO / "gunicorn.conf.py"))

    assert config["bind"] == "0.0.0.0:10000"
    assert config["workers"] == 3
    assert config["accesslog"] == "-"


def test_gunicorn_config_defaults_to_two_workers(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("PORT", raising=False)

    config = runpy.run_path(str(REPO / "gunicorn.conf.py"))

    assert config["workers"] == 2
    assert config["bind"] == "0.0.0.0:8000"
