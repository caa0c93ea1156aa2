"""Typed values from the environment are checked at start-up: a malformed one stops the process
with a message naming the variable, like a missing required one."""

import ast
import importlib
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.settings import allauth, business, celery, messaging


@pytest.fixture
def reload_with(monkeypatch):
    """Load a settings module again with one variable set; restore it as it was afterwards."""
    loaded = []

    def reload(module, **variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        loaded.append(module)
        return importlib.reload(module)

    yield reload
    monkeypatch.undo()
    for module in loaded:
        importlib.reload(module)


@pytest.mark.parametrize(
    ("module", "name", "value", "message"),
    [
        (business, "FUNDS_WITHDRAWAL_APPROVAL_THRESHOLD", "fifty thousand", "amount in yuan"),
        (business, "FUNDS_WITHDRAWAL_APPROVAL_THRESHOLD", "-1", "amount in yuan"),
        (business, "FUNDS_WITHDRAWAL_APPROVAL_THRESHOLD", "50000.001", "amount in yuan"),
        (business, "FUNDS_SUSPENSE_DAILY_LIMIT", "0", "amount in yuan"),
        (business, "FUNDS_RISK_RESERVE_SHARE", "5%", "share between 0 and 1"),
        (business, "FUNDS_RISK_RESERVE_SHARE", "1.5", "share between 0 and 1"),
        (business, "FUNDS_RISK_RESERVE_SHARE", "0", "share between 0 and 1"),
        (business, "EDUCATION_COOL_OFF_HOURS", "a day", "integer"),
        (business, "EDUCATION_COOL_OFF_HOURS", "-1", "at least 0"),
        (business, "MARGIN_FEED_STEP_SECONDS", "0", "at least 1"),
        (celery, "BACKGROUND_STUCK_AFTER_SECONDS", "0", "at least 1"),
        (messaging, "NOTICES_DRAINERS", "0", "at least 1"),
        (messaging, "SMS_HTTP_TIMEOUT", "ten", "integer"),
        (allauth, "ALLAUTH_TRUSTED_PROXY_COUNT", "9", "between 0 and 5"),
    ],
)
def test_a_malformed_value_stops_the_start_naming_the_variable(
    reload_with, module, name, value, message
):
    with pytest.raises(ImproperlyConfigured, match=f"{name} must be .*{message}"):
        reload_with(module, **{name: value})


def test_well_formed_values_are_kept_as_given(reload_with):
    loaded = reload_with(
        business,
        FUNDS_WITHDRAWAL_APPROVAL_THRESHOLD="80000.00",
        FUNDS_RISK_RESERVE_SHARE="0.1",
        EDUCATION_COOL_OFF_HOURS="48",
    )
    assert loaded.FUNDS_WITHDRAWAL_APPROVAL_THRESHOLD == "80000.00"
    assert loaded.FUNDS_RISK_RESERVE_SHARE == "0.1"
    assert loaded.EDUCATION_COOL_OFF_HOURS == 48


def test_each_setting_is_defined_in_one_module():
    from portal.settings import base, channels, security

    modules = [allauth, business, celery, channels, messaging, security]
    seen: dict[str, str] = {}
    for node in ast.parse(Path(base.__file__).read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            assert isinstance(target, ast.Name)
            assert target.id not in seen, f"{target.id} is set twice in base.py"
            seen[target.id] = base.__name__
    for module in modules:
        for name in (n for n in vars(module) if n.isupper()):
            assert name not in seen, f"{name} is in {seen.get(name)} and {module.__name__}"
            seen[name] = module.__name__
