import pytest

from addresses.models import Address
from tests.factories import AddressFactory

pytestmark = pytest.mark.django_db

URL = "/api/addresses/"

VALID = {
    "full_name": "Ada Lovelace",
    "phone": "+44 20 7946 0958",
    "line1": "12 St James's Square",
    "line2": "Flat 3",
    "city": "London",
    "state": "",
    "postal_code": "sw1y 4jh",
    "country": "gb",
    "address_type": "OFFICE",
}
FIELDS = {
    "id",
    "full_name",
    "phone",
    "line1",
    "line2",
    "city",
    "state",
    "postal_code",
    "country",
    "address_type",
    "is_default",
    "created_at",
    "updated_at",
}


def detail(address_id):
    return f"{URL}{address_id}/"


def errors(response):
    return [(e["code"], e["attr"]) for e in response.json()["errors"]]


def defaults(user):
    return list(Address.objects.filter(user=user, is_default=True).values_list("pk", flat=True))


# --- CRUD ------------------------------------------------------------------------------------


def test_create_address_normalises_country_and_postal_code(user, user_client):
    response = user_client.post(URL, VALID, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == FIELDS
    assert body["country"] == "GB"
    assert body["postal_code"] == "SW1Y 4JH"
    assert body["address_type"] == "OFFICE"
    address = Address.objects.get(pk=body["id"])
    assert address.user == user
    assert address.country == "GB"


def test_list_shows_only_own_addresses_default_first(user, user_client, other_user):
    older_default = AddressFactory(user=user, is_default=True)
    newer = AddressFactory(user=user)
    AddressFactory(user=other_user, is_default=True)

    response = user_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [a["id"] for a in body["results"]] == [older_default.pk, newer.pk]


def test_list_query_count_is_constant(user, user_client, django_assert_max_num_queries):
    AddressFactory.create_batch(15, user=user)

    with django_assert_max_num_queries(3):  # user, count, page
        response = user_client.get(URL)

    assert len(response.json()["results"]) == 15


def test_list_is_paginated(user, user_client):
    AddressFactory.create_batch(3, user=user)

    body = user_client.get(URL, {"page_size": 2}).json()

    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]


def test_retrieve_put_patch_delete(user, user_client):
    address = AddressFactory(user=user, is_default=True)

    assert user_client.get(detail(address.pk)).json()["id"] == address.pk

    put = user_client.put(detail(address.pk), {**VALID, "city": "Cambridge"}, format="json")
    assert put.status_code == 200
    assert put.json()["city"] == "Cambridge" and put.json()["country"] == "GB"

    patch = user_client.patch(detail(address.pk), {"line2": ""}, format="json")
    assert patch.status_code == 200
    address.refresh_from_db()
    assert (address.city, address.line2, address.full_name) == ("Cambridge", "", "Ada Lovelace")

    assert user_client.delete(detail(address.pk)).status_code == 204
    assert not Address.objects.filter(pk=address.pk).exists()


def test_put_requires_every_required_field(user, user_client):
    address = AddressFactory(user=user)

    response = user_client.put(detail(address.pk), {"city": "Paris"}, format="json")

    assert response.status_code == 400
    assert {attr for _, attr in errors(response)} == {"full_name", "phone", "line1", "postal_code", "country"}


def test_user_field_cannot_be_mass_assigned(user, user_client, other_user):
    response = user_client.post(URL, {**VALID, "user": other_user.pk, "id": 999}, format="json")

    assert response.status_code == 201
    assert Address.objects.get(pk=response.json()["id"]).user == user


def test_anonymous_is_401(api_client):
    address = AddressFactory()

    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL, VALID, format="json").status_code == 401
    assert api_client.get(detail(address.pk)).status_code == 401
    assert api_client.post(f"{detail(address.pk)}set-default/").status_code == 401


# --- ownership -------------------------------------------------------------------------------


def test_every_endpoint_answers_404_for_someone_elses_address(user_client, other_user):
    theirs = AddressFactory(user=other_user, is_default=True, city="Oslo")

    responses = [
        user_client.get(detail(theirs.pk)),
        user_client.put(detail(theirs.pk), VALID, format="json"),
        user_client.patch(detail(theirs.pk), {"city": "Bergen", "is_default": True}, format="json"),
        user_client.delete(detail(theirs.pk)),
        user_client.post(f"{detail(theirs.pk)}set-default/"),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert all(errors(r) == [("address_not_found", None)] for r in responses)
    theirs.refresh_from_db()
    assert (theirs.city, theirs.is_default) == ("Oslo", True)


def test_unknown_and_huge_ids_are_404(user_client):
    assert user_client.get(detail(987654)).status_code == 404
    assert user_client.get(detail(2**70)).status_code == 404
    assert user_client.post(f"{detail(2**70)}set-default/").status_code == 404


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("country", "XX", "invalid_country"),
        ("country", "USA", "max_length"),
        ("country", "U", "min_length"),
        ("country", "1A", "invalid_country"),
        ("address_type", "CASTLE", "invalid_choice"),
        ("address_type", "home", "invalid_choice"),
        ("full_name", "", "blank"),
        ("full_name", "x" * 151, "max_length"),
        ("full_name", "Ada\nLovelace", "control_characters"),
        ("full_name", "Ada\x07", "control_characters"),
        ("full_name", "Ada\u202eecalevoL", "control_characters"),
        ("full_name", "Ada\x00", "null_characters_not_allowed"),
        ("city", "Lon\tdon", "control_characters"),
        ("line1", "x" * 256, "max_length"),
        ("phone", "call me", "invalid_phone"),
        ("phone", "123", "invalid_phone"),
        ("phone", "1" * 33, "max_length"),
        ("postal_code", "!!!", "invalid_postal_code"),
        ("postal_code", "1" * 21, "max_length"),
        ("is_default", "maybe", "invalid"),
    ],
)
def test_create_rejects_invalid_fields(user_client, field, value, code):
    response = user_client.post(URL, {**VALID, field: value}, format="json")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert (code, field) in errors(response)
    assert not Address.objects.exists()


@pytest.mark.parametrize("field", ["full_name", "phone", "line1", "city", "postal_code", "country"])
def test_create_requires_field(user_client, field):
    body = {k: v for k, v in VALID.items() if k != field}

    response = user_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert ("required", field) in errors(response)


def test_optional_fields_and_defaults(user_client):
    body = {k: v for k, v in VALID.items() if k not in ("line2", "state", "address_type")}

    response = user_client.post(URL, body, format="json")

    assert response.status_code == 201
    assert (response.json()["line2"], response.json()["state"], response.json()["address_type"]) == ("", "", "HOME")


def test_names_in_other_scripts_are_fine(user_client):
    response = user_client.post(
        URL, {**VALID, "full_name": "José Müller-Łukasz 山田太郎", "city": "Zürich"}, format="json"
    )

    assert response.status_code == 201


def test_address_count_per_user_is_bounded(user, user_client, monkeypatch):
    monkeypatch.setattr("addresses.services.ADDRESS_MAX_PER_USER", 2)
    AddressFactory.create_batch(2, user=user)

    response = user_client.post(URL, VALID, format="json")

    assert response.status_code == 400
    assert errors(response) == [("address_limit_reached", "non_field_errors")]
    assert Address.objects.filter(user=user).count() == 2
