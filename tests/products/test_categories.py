import pytest

from products.models import Category
from tests.factories import CategoryFactory, ProductFactory

from .utils import error_codes

pytestmark = pytest.mark.django_db

URL = "/api/categories/"


def test_tree_of_active_categories(api_client, category_tree):
    CategoryFactory(name="Hidden", slug="hidden", is_active=False)
    CategoryFactory(name="Under hidden", slug="under-hidden", parent=Category.objects.get(slug="hidden"))

    response = api_client.get(URL)

    assert response.status_code == 200
    tree = response.json()
    assert [node["slug"] for node in tree] == ["electronics", "home"]
    electronics = tree[0]
    assert electronics["parent"] is None
    audio = electronics["children"][0]
    assert audio["slug"] == "audio"
    assert audio["parent"] == category_tree["electronics"].id
    assert audio["children"][0]["slug"] == "headphones"
    assert audio["children"][0]["children"] == []
    assert set(audio) == {"id", "name", "slug", "parent", "children"}


def test_tree_respects_sort_order(api_client):
    CategoryFactory(name="B", slug="b", sort_order=2)
    CategoryFactory(name="A", slug="a", sort_order=3)
    CategoryFactory(name="C", slug="c", sort_order=1)

    assert [node["slug"] for node in api_client.get(URL).json()] == ["c", "b", "a"]


@pytest.mark.parametrize("depth", [2, 12])
def test_tree_costs_one_query_whatever_the_depth(api_client, depth, django_assert_max_num_queries):
    parent = None
    for level in range(depth):
        parent = CategoryFactory(parent=parent, slug=f"level-{level}")
        CategoryFactory(parent=parent)

    with django_assert_max_num_queries(1):
        response = api_client.get(URL)

    assert response.status_code == 200
    node, levels = response.json()[0], 1
    while True:
        deeper = [child for child in node["children"] if child["slug"].startswith("level-")]
        if not deeper:
            break
        node, levels = deeper[0], levels + 1
    assert levels == depth


def test_category_detail_by_slug(api_client, category_tree):
    response = api_client.get(f"{URL}audio/")

    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "audio"
    assert body["parent"] == category_tree["electronics"].id
    assert [child["slug"] for child in body["children"]] == ["headphones"]


def test_inactive_category_detail_is_404_for_customers_but_not_staff(api_client, staff_client):
    CategoryFactory(slug="hidden", is_active=False)

    assert api_client.get(f"{URL}hidden/").status_code == 404
    assert staff_client.get(f"{URL}hidden/").status_code == 200
    assert api_client.get(f"{URL}nope/").status_code == 404


def test_staff_creates_categories_with_generated_unique_slugs(staff_client, category_tree):
    first = staff_client.post(URL, {"name": "Garden Tools", "parent": category_tree["home"].id}, format="json")
    second = staff_client.post(URL, {"name": "Garden Tools"}, format="json")

    assert first.status_code == 201, first.content
    assert first.json()["slug"] == "garden-tools"
    assert first.json()["parent"] == category_tree["home"].id
    assert second.json()["slug"] == "garden-tools-2"


def test_explicit_slug_that_is_taken_is_a_400(staff_client, category_tree):
    response = staff_client.post(URL, {"name": "Other", "slug": "audio"}, format="json")

    assert response.status_code == 400
    assert error_codes(response) == ["slug_taken"]


def test_staff_updates_a_category(staff_client, category_tree):
    response = staff_client.patch(f"{URL}home/", {"name": "Home & Living", "sort_order": 5}, format="json")

    assert response.status_code == 200
    category = Category.objects.get(slug="home")
    assert (category.name, category.sort_order) == ("Home & Living", 5)


def test_put_replaces_a_category(staff_client, category_tree):
    response = staff_client.put(
        f"{URL}headphones/", {"name": "Earphones", "parent": category_tree["electronics"].id}, format="json"
    )

    assert response.status_code == 200
    assert Category.objects.get(slug="headphones").parent == category_tree["electronics"]


def test_moving_a_category_under_its_own_descendant_is_a_400(staff_client, category_tree):
    response = staff_client.patch(f"{URL}electronics/", {"parent": category_tree["headphones"].id}, format="json")

    assert response.status_code == 400
    assert error_codes(response) == ["category_cycle"]
    assert Category.objects.get(slug="electronics").parent is None


def test_delete_an_empty_category(staff_client):
    CategoryFactory(slug="empty")

    assert staff_client.delete(f"{URL}empty/").status_code == 204
    assert not Category.objects.filter(slug="empty").exists()


def test_delete_a_category_with_products_is_a_409(staff_client, category_tree):
    ProductFactory(category=category_tree["home"], is_active=False)

    response = staff_client.delete(f"{URL}home/")

    assert response.status_code == 409
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "category_not_empty",
                "detail": "“Home” cannot be deleted: it still has 1 product. Move them to another category first, "
                "or deactivate this category instead (customers no longer see it in the category tree).",
                "attr": None,
            }
        ],
    }
    assert Category.objects.filter(slug="home").exists()


def test_delete_a_category_with_children_is_a_409(staff_client, category_tree):
    response = staff_client.delete(f"{URL}electronics/")

    assert response.status_code == 409
    assert error_codes(response) == ["category_not_empty"]


@pytest.mark.parametrize(
    "method,path",
    [("post", URL), ("put", f"{URL}home/"), ("patch", f"{URL}home/"), ("delete", f"{URL}home/")],
)
def test_category_writes_are_staff_only(api_client, user_client, category_tree, method, path):
    payload = {"name": "Changed"}

    assert getattr(api_client, method)(path, payload, format="json").status_code == 401
    assert getattr(user_client, method)(path, payload, format="json").status_code == 403
    assert Category.objects.get(slug="home").name == "Home"
    assert Category.objects.count() == 4


def test_invalid_category_input_is_a_400(staff_client):
    response = staff_client.post(URL, {"name": "", "parent": 999999, "slug": "bad slug!"}, format="json")

    assert response.status_code == 400
    assert {error["attr"] for error in response.json()["errors"]} == {"name", "parent", "slug"}
