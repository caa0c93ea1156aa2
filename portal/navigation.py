"""The client navigation, assembled from the apps.

An app adds entries to the main menu by giving its AppConfig a `nav_items` list of
`NavItem(url_name, label, order)`; label is a lazy translation. Only signed-in users see them.
"""

from dataclasses import dataclass

from django.apps import apps
from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: object  # a lazy translation
    order: int = 50


def nav_items() -> list[NavItem]:
    items: list[NavItem] = []
    for app_config in apps.get_app_configs():
        items.extend(getattr(app_config, "nav_items", []))
    return sorted(items, key=lambda item: item.order)


def navigation(request):
    """Context processor: `main_nav`, a list of (url, label, is_current) for signed-in users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"main_nav": []}
    entries = []
    for item in nav_items():
        url = reverse(item.url_name)
        entries.append((url, item.label, request.path.startswith(url)))
    return {"main_nav": entries}
