"""`make run HOST=… PORT=…` makes the links in emails, SMS and notices point at that server."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_passes_its_address_to_seeding_and_serving():
    result = subprocess.run(
        ["make", "-n", "run", "HOST=10.1.2.3", "PORT=8113"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = result.stdout.splitlines()
    seed = next(line for line in lines if "seed_demo" in line)
    serve = next(line for line in lines if "uvicorn" in line)
    for line in (seed, serve):
        assert "PORTAL_BASE_URL=http://10.1.2.3:8113" in line
    assert "--host 10.1.2.3 --port 8113" in serve


def test_the_embedded_portal_links_to_and_answers_on_the_address_it_was_given():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings.dev", PORTAL_BASE_URL="http://10.1.2.3:8113")
    code = (
        "from django.conf import settings as s;"
        "from notices.services import _standard_context as c;"
        "from notices.models import Notification as N;"
        "print(s.PORTAL_BASE_URL, '10.1.2.3' in s.ALLOWED_HOSTS,"
        " 'http://10.1.2.3:8113' in s.CSRF_TRUSTED_ORIGINS,"
        " c(N(recipient=None))['notices_url'])"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "http://10.1.2.3:8113",
        "True",
        "True",
        "http://10.1.2.3:8113/notices/",
    ]
