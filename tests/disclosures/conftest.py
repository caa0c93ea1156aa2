import pytest

from tests.disclosures import factories


@pytest.fixture
def compliance_grace(db):
    return factories.staff(email="grace@example.test", full_name="葛蕾")


@pytest.fixture
def fees_v1(db):
    return factories.in_force()


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions below read the English source strings; Chinese is checked on its own."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
