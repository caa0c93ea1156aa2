import pytest

from notices import registry
from notices.checks import notice_templates_exist
from notices.registry import Category, Channel, NoticeType


def test_the_built_in_notice_types_are_registered_with_their_categories():
    types = {t.key: t for t in registry.all_notice_types()}
    assert types["account_email"].category == Category.SECURITY
    assert types["account_email"].channels == (Channel.EMAIL,)
    assert types["welcome"].channels == (Channel.EMAIL, Channel.INAPP)
    assert types["announcement"].category == Category.GENERAL
    assert types["security_alert"].channels == (Channel.EMAIL, Channel.SMS, Channel.INAPP)
    assert types["security_alert"].mandatory and not types["welcome"].mandatory


def test_every_registered_type_has_its_templates():
    for notice_type in registry.all_notice_types():
        notice_type.check_templates()
    assert notice_templates_exist(None) == []


def test_a_type_without_templates_fails_the_system_check():
    registry.register(NoticeType(key="orphan", category="service", channels=(Channel.SMS,)))
    try:
        [error] = notice_templates_exist(None)
    finally:
        registry.unregister("orphan")
    assert error.id == "notices.E001"
    assert "sms/orphan.txt" in error.msg


def test_registering_the_same_definition_twice_is_harmless_but_a_different_one_is_refused():
    welcome = registry.get_notice_type("welcome")
    assert registry.register(welcome) is welcome
    with pytest.raises(ValueError, match="already registered"):
        registry.register(NoticeType(key="welcome", category="security", channels=("email",)))
    assert registry.get_notice_type("welcome") is welcome


@pytest.mark.parametrize(
    ("key", "category", "channels"),
    [
        ("Bad Key", "general", ("email",)),
        ("../escape", "general", ("email",)),
        ("fine", "gossip", ("email",)),
        ("fine", "general", ("fax",)),
        ("fine", "general", ()),
    ],
)
def test_a_malformed_notice_type_is_refused(key, category, channels):
    with pytest.raises(ValueError):
        NoticeType(key=key, category=category, channels=channels)


def test_in_app_notices_take_their_title_from_the_email_subject_template():
    assert registry.get_notice_type("welcome").template_names(Channel.INAPP) == [
        "emails/welcome-subject.txt",
        "inapp/welcome.txt",
    ]


def test_the_preference_grid_only_offers_channels_a_category_uses():
    assert registry.channels_in_use(Category.GENERAL) == ["email", "inapp"]
    assert registry.channels_in_use(Category.SECURITY) == ["email", "sms", "inapp"]
