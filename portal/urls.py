from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy
from django.views.i18n import JavaScriptCatalog

from portal import views

# Staff sign in through allauth, so the admin gets the same MFA stage as everyone else.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = gettext_lazy("Wangrun back office")
admin.site.site_title = gettext_lazy("Wangrun back office")

# An outage that escapes portal.middleware (a session saved after the database went down)
# still gets the 503 page.
handler500 = "portal.middleware.server_error"
# allauth answers its rate limits through this (allauth.core.internal.ratelimit.respond_429).
handler429 = "portal.errors.rate_limited"

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("onboarding/", include("accounts.onboarding_urls")),
    path("notices/", include("notices.urls")),
    path("disclosures/", include("disclosures.urls")),
    path("support/", include("support.urls")),
    path("margin/", include("margin.urls")),
    path("education/", include("education.urls")),
    path("funds/", include("funds.urls")),
    path("admin/clients/", include("backoffice.urls")),
    path("trading/", include("trading.urls")),
    path("admin/", admin.site.urls),
]
