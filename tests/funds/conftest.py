import pytest


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fee_schedule(db):
    from tests.disclosures.factories import fees, in_force

    return in_force(items=fees())


@pytest.fixture(autouse=True)
def _english():
    # Reasons are stored as shown to the client; the tests read them in English.
    from django.utils import translation

    with translation.override("en"):
        yield
