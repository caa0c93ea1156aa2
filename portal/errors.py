"""Error pages the portal answers with, instead of a 500, for what a user can cause: translated,
on the site's own layout, kept together here so the next one sits beside them.

429 Too Many Requests — allauth's rate limits (sign-in, sign-up, codes by SMS, password and email
changes). allauth answers most of them through ``handler429`` of the root URLconf; a few flows
raise ``RateLimited`` from deep inside instead (the phone code sent when a client with an
unverified number signs in), which ``RateLimitMiddleware`` turns into the same page. The page and
the ``Retry-After`` header say when the next try goes through, read from allauth's own counters.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta

from allauth.account import app_settings as account_settings
from allauth.account.adapter import get_adapter
from allauth.account.utils import filter_users_by_email
from allauth.core.exceptions import RateLimited

# allauth keeps no public API for reading its counters; these three are what `consume` uses.
from allauth.core.internal.ratelimit import Rate, get_cache_key, get_rates
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import timezone

APP = "allauth.account"

# Which of allauth's limits a page can run into (allauth.account.views and its flows).
ACTIONS_BY_URL_NAME = {
    "account_login": ("login", "verify_phone", "confirm_email"),
    "account_signup": ("signup", "verify_phone", "confirm_email"),
    "account_email": ("manage_email", "confirm_email"),
    "account_email_verification_sent": ("confirm_email",),
    "account_confirm_email": ("confirm_email",),
    "account_change_password": ("change_password",),
    "account_set_password": ("change_password",),
    "account_reset_password": ("reset_password",),
    "account_reset_password_from_key": ("reset_password_from_key",),
    "account_change_phone": ("change_phone", "verify_phone"),
    "account_verify_phone": ("verify_phone",),
    "account_request_login_code": ("request_login_code",),
    "account_reauthenticate": ("reauthenticate",),
}


def _url_name(request: HttpRequest) -> str:
    try:
        return resolve(request.path_info).url_name or ""
    except Resolver404:
        return ""


def _keys(request: HttpRequest) -> set[str]:
    """What a per-key limit may be counted under: the address or number the form names, and the
    phone of the account it names (the code sent at sign-in goes to that number)."""
    adapter = get_adapter()
    keys: set[str] = set()
    for field in ("login", "email", "phone"):
        value = (request.POST.get(field) or "").strip()[:254]
        if value:
            keys.update({value, value.lower()})
    users = [request.user] if request.user.is_authenticated else []
    for value in list(keys):
        try:
            phone = adapter.clean_phone(value)
        except ValidationError:
            users.extend(filter_users_by_email(value, is_active=True)[:1])
        else:
            users.append(adapter.get_user_by_phone(phone))
    for user in users:
        phone = adapter.get_phone(user) if user is not None else None
        if phone:
            keys.add(phone[0])
    return keys


def _cache_keys(request: HttpRequest, action: str, rate: Rate, keys: set[str]) -> list[str]:
    if rate.per == "ip":
        return [get_cache_key(request, app=APP, action=action, rate=rate)]
    if rate.per == "user":
        if not request.user.is_authenticated:
            return []
        return [get_cache_key(request, app=APP, action=action, rate=rate, user=request.user)]
    return [get_cache_key(request, app=APP, action=action, rate=rate, key=key) for key in keys]


def retry_after(request: HttpRequest, *, now: float | None = None) -> int:
    """Seconds until every limit this request ran into lets the next try through.

    A limit of n per window is full while n tries fall inside the window; it frees when the
    n-th newest of them leaves it. Where the counter cannot be found, the longest window of the
    limits the page can hit: later than needed, never earlier.
    """
    now = time.time() if now is None else now
    actions = ACTIONS_BY_URL_NAME.get(_url_name(request)) or tuple(account_settings.RATE_LIMITS)
    keys = _keys(request)
    frees_at: list[float] = []
    windows: list[float] = []
    for action in actions:
        for rate in get_rates(app=APP, action=action):
            windows.append(rate.duration)
            for cache_key in _cache_keys(request, action, rate, keys):
                recent = sorted(
                    (t for t in cache.get(cache_key, []) if t > now - rate.duration), reverse=True
                )
                if len(recent) >= rate.amount:
                    frees_at.append(recent[rate.amount - 1] + rate.duration)
    if frees_at:
        return max(1, math.ceil(max(frees_at) - now))
    return math.ceil(max(windows, default=60))


def rate_limited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 429 page: what happened and from when the next try is accepted."""
    seconds = retry_after(request)
    response = render(
        request,
        "errors/429.html",
        {
            "retry_seconds": seconds,
            "retry_minutes": math.ceil(seconds / 60),
            "retry_at": timezone.localtime() + timedelta(seconds=seconds),
            "back": request.path,
        },
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


class RateLimitMiddleware:
    """Answers an allauth ``RateLimited`` that escapes a view with the 429 page, not a 500."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, RateLimited):
            return rate_limited(request, exception)
        return None
