import pytest

from tests.education import factories


@pytest.fixture
def risk_v1(db):
    return factories.documents_in_force()


@pytest.fixture
def course_v1(db):
    return factories.course()


@pytest.fixture
def gate_world(risk_v1, course_v1):
    """Documents in force and the course published."""
    return risk_v1
