"""Reading settings from the environment, failing loudly with the variable's name."""

import os
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

_MISSING = object()


def env(name: str, default=_MISSING) -> str:
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if default is _MISSING:
        raise ImproperlyConfigured(f"Environment variable {name} is required but not set.")
    return default


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"Environment variable {name} must be true or false, not {raw!r}.")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be an integer, not {raw!r}."
        ) from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            bounds = f"at least {minimum}"
        elif minimum is None:
            bounds = f"at most {maximum}"
        else:
            bounds = f"between {minimum} and {maximum}"
        raise ImproperlyConfigured(f"Environment variable {name} must be {bounds}, not {value}.")
    return value


def env_amount(name: str, default: str) -> str:
    """A positive amount of yuan with at most 2 decimal places, kept as its text."""
    from decimal import Decimal, InvalidOperation

    raw = env(name, default)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
        raise ImproperlyConfigured(
            f"Environment variable {name} must be an amount in yuan such as 200000.00, not {raw!r}."
        )
    return raw


def env_share(name: str, default: str) -> str:
    """A share of a whole, above 0 and at most 1 (0.05 for 5%), kept as its text."""
    from decimal import Decimal, InvalidOperation

    raw = env(name, default)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 < value <= 1:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be a share between 0 and 1 such as 0.05, "
            f"not {raw!r}."
        )
    return raw


def env_list(name: str, default=_MISSING) -> list[str]:
    raw = env(name, default if default is _MISSING else ",".join(default))
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items and default is _MISSING:
        raise ImproperlyConfigured(f"Environment variable {name} must list at least one value.")
    return items


def env_url(name: str, schemes: tuple[str, ...], default=_MISSING) -> str:
    value = env(name, default)
    if value is default and default is not _MISSING:
        return value
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.hostname or parsed.path):
        raise ImproperlyConfigured(
            f"Environment variable {name} must be a URL starting with "
            f"{' or '.join(s + '://' for s in schemes)}, not {value!r}."
        )
    return value
