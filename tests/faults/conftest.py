"""One throw-away PostgreSQL cluster and Redis server for the fault tests, and their figures.

The figures each scenario measured (counts and drain time) are printed at the end of the run.
"""

import pytest

from tests.faults import harness

FIGURES: list[str] = []


@pytest.fixture(scope="package")
def fault_env(django_db_setup, django_db_blocker):
    reason = harness.available()
    if reason:
        pytest.skip(reason)
    from django.db import connections

    # The schema comes from the suite's own test database, which django_db_setup has migrated.
    env = harness.Environment(schema_from=dict(connections["default"].settings_dict))
    yield env
    env.close()


@pytest.fixture
def portal(fault_env):
    """A fresh outbox, fresh sinks and no processes yet; everything stopped afterwards."""
    portal = fault_env.fresh()
    yield portal
    fault_env.close_portal()


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("fault tests: measured")
        for line in FIGURES:
            terminalreporter.write_line(line)
