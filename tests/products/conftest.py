import pytest

from tests.factories import CategoryFactory, ProductFactory


@pytest.fixture
def category_tree(db):
    """electronics > audio > headphones; home (separate root)."""
    electronics = CategoryFactory(name="Electronics", slug="electronics")
    audio = CategoryFactory(name="Audio", slug="audio", parent=electronics)
    headphones = CategoryFactory(name="Headphones", slug="headphones", parent=audio)
    home = CategoryFactory(name="Home", slug="home")
    return {"electronics": electronics, "audio": audio, "headphones": headphones, "home": home}


@pytest.fixture
def make_products(db):
    def make(n, **kwargs):
        return ProductFactory.create_batch(n, **kwargs)

    return make
