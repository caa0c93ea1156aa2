from pathlib import Path

import pytest
from django.conf import settings as django_settings

from notices import registry
from notices.models import Notification
from notices.sms import LocmemSmsBackend

TEST_TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    LocmemSmsBackend.outbox.clear()
    yield
    LocmemSmsBackend.outbox.clear()


@pytest.fixture
def in_memory_channel_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def month_note(settings):
    """A test-only notice type whose templates print the month name, translated by Django."""
    templates = [dict(t) for t in django_settings.TEMPLATES]
    templates[0]["DIRS"] = [TEST_TEMPLATES, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates
    notice_type = registry.register(
        registry.NoticeType(
            key="month_note",
            category=registry.Category.GENERAL,
            channels=(registry.Channel.EMAIL, registry.Channel.INAPP),
        )
    )
    yield notice_type
    registry.unregister("month_note")


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Run `fn` and then whatever it queued for after commit, as a real commit would."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def reload(notification: Notification) -> Notification:
    notification.refresh_from_db()
    return notification
