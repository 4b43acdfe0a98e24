"""products.E003: cached catalog answers never carry signed S3 image links past their expiry."""

import pytest

from products.checks import cached_image_links_outlive_their_signature


@pytest.fixture
def s3(settings):
    settings.USE_S3 = True
    settings.S3_STORAGE_OPTIONS = {
        **settings.S3_STORAGE_OPTIONS,
        "querystring_auth": True,
        "querystring_expire": 3600,
        "custom_domain": None,
    }
    return settings


def test_a_cache_shorter_than_the_signature_is_fine(s3):
    s3.CATALOG_CACHE_SECONDS = 60
    assert cached_image_links_outlive_their_signature(None) == []


def test_a_cache_as_long_as_the_signature_is_refused(s3):
    s3.CATALOG_CACHE_SECONDS = 3600

    [error] = cached_image_links_outlive_their_signature(None)

    assert error.id == "products.E003"
    assert "CATALOG_CACHE_SECONDS" in error.hint and "AWS_QUERYSTRING_EXPIRE" in error.hint


@pytest.mark.parametrize(
    "unsigned", [{"querystring_auth": False}, {"custom_domain": "img.example.com"}], ids=["public", "cdn"]
)
def test_unsigned_image_links_may_be_cached_as_long_as_wanted(s3, unsigned):
    s3.S3_STORAGE_OPTIONS = {**s3.S3_STORAGE_OPTIONS, **unsigned}
    s3.CATALOG_CACHE_SECONDS = 86400
    assert cached_image_links_outlive_their_signature(None) == []


def test_without_s3_there_is_nothing_to_check(settings):
    settings.USE_S3 = False
    settings.CATALOG_CACHE_SECONDS = 86400
    assert cached_image_links_outlive_their_signature(None) == []
