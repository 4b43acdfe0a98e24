"""Product images on S3 (seed 003): the real django-storages backend and boto3 against moto's S3 server
on a free local port, configured with the options the settings build (`S3_STORAGE_OPTIONS`)."""

import json
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto.server import ThreadedMotoServer

from products.models import ProductImage
from tests.factories import ProductFactory

from .utils import error_codes, image_bytes, upload

pytestmark = [pytest.mark.django_db]

BUCKET = "novacart-media-test"
REGION = "eu-central-1"
KEY_ID = "AKIAEXAMPLENOVACART"
SECRET = "novacart-test-secret-access-key"


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_server):
    """A fresh, private bucket (no ACLs, no public policy), as a new AWS bucket is."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _s3_storage(settings, endpoint_url, **options):
    """What novacart.settings.base configures when AWS_STORAGE_BUCKET_NAME and the AWS_* are set."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **settings.S3_STORAGE_OPTIONS,
                "bucket_name": BUCKET,
                "access_key": KEY_ID,
                "secret_key": SECRET,
                "region_name": REGION,
                "endpoint_url": endpoint_url,
                **options,
            },
        },
    }


@pytest.fixture
def s3_media(settings, s3_server, s3_bucket):
    _s3_storage(settings, s3_server)
    return s3_bucket


def _get(url: str) -> tuple[int, bytes, str]:
    """Status, body and content type of a plain HTTP GET, as a browser would fetch the image."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a local test server)
            return response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get_content_type()


def _allow_public_reads(client) -> None:
    """The bucket policy a public-read shop bucket gets (objects carry no ACL)."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
        ],
    }
    client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))


@pytest.mark.slow
def test_an_uploaded_image_is_stored_on_s3_and_readable_by_the_url_the_api_returns(staff_client, api_client, s3_media):
    product = ProductFactory()
    content = image_bytes("PNG", size=(16, 16))

    response = staff_client.post(
        f"/api/products/{product.id}/images/",
        {"image": upload("front.png", content), "alt": "Front"},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    url = response.json()["url"]
    image = ProductImage.objects.get(product=product)
    # In the bucket, under the product's prefix, with no ACL granted to anyone but the owner.
    stored = s3_media.get_object(Bucket=BUCKET, Key=image.image.name)
    assert stored["Body"].read() == content
    assert stored["ContentType"] == "image/png"
    assert stored["CacheControl"] == "public, max-age=31536000, immutable"
    grants = s3_media.get_object_acl(Bucket=BUCKET, Key=image.image.name)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    # A signed, expiring URL by default (a private bucket), readable over HTTP as it is.
    parts = urlsplit(url)
    assert parts.path == f"/{BUCKET}/{image.image.name}"
    query = parse_qs(parts.query)
    assert query["X-Amz-Expires"] == ["3600"] and "X-Amz-Signature" in query
    assert _get(url) == (200, content, "image/png")
    # The bucket is private: the same address unsigned is refused.
    assert _get(f"{parts.scheme}://{parts.netloc}{parts.path}")[0] == 403
    # The catalog shows the same object.
    [listed] = api_client.get(f"/api/products/{product.id}/").json()["images"]
    assert _get(listed["url"])[1] == content


@pytest.mark.slow
def test_without_signed_urls_the_url_is_the_plain_object_address(staff_client, settings, s3_server, s3_bucket):
    """AWS_QUERYSTRING_AUTH=0 with a public-read bucket policy: stable URLs that a CDN can cache."""
    _s3_storage(settings, s3_server, querystring_auth=False, location="shop")
    _allow_public_reads(s3_bucket)
    product = ProductFactory()
    content = image_bytes("JPEG")

    response = staff_client.post(
        f"/api/products/{product.id}/images/", {"image": upload("a.jpg", content, "image/jpeg")}, format="multipart"
    )

    assert response.status_code == 201, response.content
    image = ProductImage.objects.get(product=product)
    assert response.json()["url"] == f"{s3_server}/{BUCKET}/shop/{image.image.name}"
    assert _get(response.json()["url"]) == (200, content, "image/jpeg")


def test_a_custom_domain_gives_unsigned_urls_on_that_domain(settings):
    _s3_storage(settings, None, custom_domain="cdn.shop.example.com")
    image = ProductImage(product=ProductFactory(), image="products/1/abc.png")

    assert image.image.url == "https://cdn.shop.example.com/products/1/abc.png"


@pytest.mark.slow
def test_a_store_that_does_not_answer_is_a_503_and_nothing_is_saved(staff_client, settings, s3_server, s3_bucket):
    # Nothing listens there: the connection is refused at once.
    _s3_storage(settings, "http://127.0.0.1:9")
    staff_client.raise_request_exception = False  # a 5xx is reported like an unhandled error
    product = ProductFactory()

    response = staff_client.post(
        f"/api/products/{product.id}/images/", {"image": upload("a.png", image_bytes())}, format="multipart"
    )

    assert response.status_code == 503, response.content
    assert response.json()["type"] == "server_error"
    assert error_codes(response) == ["media_storage_unavailable"]
    assert not ProductImage.objects.exists()
    assert s3_bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_the_settings_upload_without_an_acl_and_with_bounded_timeouts(settings):
    options = settings.S3_STORAGE_OPTIONS

    assert options["default_acl"] is None
    assert options["querystring_auth"] is True
    assert options["client_config"].connect_timeout <= 10
    assert options["client_config"].read_timeout <= 60
