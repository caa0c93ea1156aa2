from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.names import name_pinyin

PINYIN_FIELDS = ("name_pinyin", "name_pinyin_given_first", "name_initials")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in: a client, or a staff member whose powers come from their groups.

    Email is the login; there is no username. `language` is the language notices are written in,
    kept in step with the language the person last chose in the portal.
    """

    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    # The name's pinyin (accounts.names), kept in step on save: staff find a client by it.
    name_pinyin = models.CharField(_("name in pinyin"), max_length=120, blank=True, db_index=True)
    name_pinyin_given_first = models.CharField(
        _("name in pinyin, given name first"), max_length=120, blank=True, db_index=True
    )
    name_initials = models.CharField(
        _("pinyin initials of the name"), max_length=30, blank=True, db_index=True
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    phone_verified = models.BooleanField(_("mobile phone verified"), default=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []  # type: ignore[misc]

    objects = UserManager()  # type: ignore[misc,assignment]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # A verified number signs in one account only; unverified claims may collide.
            models.UniqueConstraint(
                fields=["phone"],
                condition=models.Q(phone_verified=True),
                name="accounts_user_verified_phone_unique",
            )
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args, **kwargs) -> None:
        forms = name_pinyin(self.full_name)
        self.name_pinyin, self.name_pinyin_given_first, self.name_initials = forms
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "full_name" in update_fields:
            kwargs["update_fields"] = {*update_fields, *PINYIN_FIELDS}
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        """What the portal calls this person: the name verified by KYC (set on approval), else
        the email address or mobile number they signed in with — never a fragment of either."""
        return self.full_name or self.email or self.phone or ""

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.display_name
