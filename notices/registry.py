"""The notice types the portal can send, and what each one is allowed to do.

Each app declares its types in `<app>/notice_types.py` (loaded when Django starts)::

    from notices.registry import Category, Channel, NoticeType, register

    register(NoticeType(key="margin_call", category=Category.MARGIN_CALL,
                        channels=(Channel.EMAIL, Channel.SMS, Channel.INAPP),
                        required_context=("account_number", "ratio")))

Templates, one set per channel, with English source strings in `{% blocktranslate %}`:

- email: `emails/<key>-subject.txt`, `emails/<key>-body.txt`, `emails/<key>-body.html`
- SMS: `sms/<key>.txt`
- in-app: `inapp/<key>.txt` for the body; the title is the email subject template.
"""

import re
from dataclasses import dataclass, field

from django.db import models
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    INAPP = "inapp", _("In the portal")


class Category(models.TextChoices):
    SECURITY = "security", _("Security of your account")
    MARGIN_CALL = "margin_call", _("Margin calls and forced liquidation")
    SERVICE = "service", _("Service: tickets, KYC, statements")
    GENERAL = "general", _("News and announcements")


# A client cannot opt out of these: the platform must be able to prove it told them.
MANDATORY_CATEGORIES = frozenset({Category.SECURITY, Category.MARGIN_CALL})

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class UnknownNoticeType(ValueError):
    """Raised at enqueue time for a key nobody registered, so the mistake never reaches a worker."""


class NoticeTemplateMissing(ValueError):
    """Raised at enqueue time when a channel of a notice type has no template to render."""


@dataclass(frozen=True)
class NoticeType:
    key: str
    category: str
    channels: tuple[str, ...]
    description: str | Promise = ""
    # Context keys the templates cannot do without; checked at enqueue.
    required_context: tuple[str, ...] = field(default=())
    # Rendered by the caller (allauth) and stored sealed; no templates of our own.
    prerendered: bool = False
    # Context keys holding a secret (a token link): sealed, never stored or shown in the clear;
    # the stored copy of the message shows them withheld (see notices.sealing).
    secret_context: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not _KEY_RE.match(self.key):
            raise ValueError(f"Notice key {self.key!r} must be lower-case letters, digits and _.")
        if self.category not in Category.values:
            raise ValueError(f"Notice {self.key!r}: unknown category {self.category!r}.")
        if not self.channels or not set(self.channels) <= set(Channel.values):
            raise ValueError(f"Notice {self.key!r}: channels must be some of {Channel.values}.")

    @property
    def mandatory(self) -> bool:
        return self.category in MANDATORY_CATEGORIES

    def template_names(self, channel: str) -> list[str]:
        """The templates `channel` renders for this type (none for pre-rendered types)."""
        if self.prerendered:
            return []
        if channel == Channel.EMAIL:
            return [
                f"emails/{self.key}-{part}" for part in ("subject.txt", "body.txt", "body.html")
            ]
        if channel == Channel.SMS:
            return [f"sms/{self.key}.txt"]
        return [f"emails/{self.key}-subject.txt", f"inapp/{self.key}.txt"]

    def check_templates(self, channels: tuple[str, ...] | list[str] | None = None) -> None:
        """Load every template the channels need; raise NoticeTemplateMissing if one is absent."""
        for channel in channels or self.channels:
            for name in self.template_names(channel):
                try:
                    get_template(name)
                except TemplateDoesNotExist:
                    raise NoticeTemplateMissing(
                        f"Notice {self.key!r} has no template {name!r} for channel {channel!r}."
                    ) from None


_registry: dict[str, NoticeType] = {}


def register(notice_type: NoticeType) -> NoticeType:
    """Add a notice type. The same definition twice is harmless; a different one is an error."""
    existing = _registry.get(notice_type.key)
    if existing is not None and existing != notice_type:
        raise ValueError(f"Notice key {notice_type.key!r} is already registered differently.")
    _registry[notice_type.key] = notice_type
    return notice_type


def unregister(key: str) -> None:
    """Remove a type (for tests that register their own)."""
    _registry.pop(key, None)


def get_notice_type(key: str) -> NoticeType:
    try:
        return _registry[key]
    except KeyError:
        raise UnknownNoticeType(f"Unknown notice template key {key!r}.") from None


def notice_label(key: str) -> str:
    """What a notice of this key is about, in the reader's language (the key if unregistered)."""
    notice_type = _registry.get(key)
    if notice_type is None or not notice_type.description:
        return key
    return str(notice_type.description)


def all_notice_types() -> list[NoticeType]:
    return sorted(_registry.values(), key=lambda t: t.key)


def channels_in_use(category: str) -> list[str]:
    """The channels some registered type of `category` sends on, in the order of `Channel`."""
    used = {c for t in _registry.values() if t.category == category for c in t.channels}
    return [c for c in Channel.values if c in used]
