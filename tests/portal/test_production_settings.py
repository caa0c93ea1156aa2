"""Production settings fail loudly on a missing or malformed variable and pass `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.production",
    "SECRET_KEY": "x7Kp2mQ9vR4tW8yZ1aB3cD5eF6gH0jL-prod-test-secret-key-!@#",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "portal.wangrun.example",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "BLIND_INDEX_KEY": "k3v9-blind-index-key-for-the-deploy-check-0001",
    "PORTAL_BASE_URL": "https://portal.wangrun.example",
}


def manage(*args, **overrides):
    # A clean deployment environment: only what production would be given.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in GOOD and not k.startswith(("DJANGO_", "PYTEST_"))
    }
    env.update(GOOD)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_no_issue_when_everything_is_set():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "variable",
    [
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "ALLOWED_HOSTS",
        "FIELD_ENCRYPTION_KEY",
        "BLIND_INDEX_KEY",
        "PORTAL_BASE_URL",
    ],
)
def test_a_missing_variable_stops_start_up_naming_it(variable):
    result = manage("check", **{variable: None})
    assert result.returncode != 0
    assert f"Environment variable {variable} is required" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://nope"),
        ("REDIS_URL", "not-a-url"),
        ("SECRET_KEY", "short"),
        ("FIELD_ENCRYPTION_KEY", "not-a-fernet-key"),
        ("BLIND_INDEX_KEY", "short"),
        # Links in notices: never loopback, never plain http, only a host the portal serves.
        ("PORTAL_BASE_URL", "http://127.0.0.1:8000"),
        ("PORTAL_BASE_URL", "https://localhost"),
        ("PORTAL_BASE_URL", "http://portal.wangrun.example"),
        ("PORTAL_BASE_URL", "https://elsewhere.example"),
    ],
)
def test_a_malformed_variable_stops_start_up_naming_it(variable, value):
    result = manage("check", **{variable: value})
    assert result.returncode != 0
    assert f"Environment variable {variable}" in result.stderr
    assert "malformed" in result.stderr or "must be" in result.stderr


def test_production_links_start_at_the_configured_address():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.PORTAL_BASE_URL)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://portal.wangrun.example"
