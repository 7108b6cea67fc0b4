from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from hygiene.api import views as api
from hygiene.views import accounts, audit, errors, notifications, pages, people, teams, tokens

router = DefaultRouter()
router.register("teams", api.TeamViewSet, basename="team")
router.register("tokens", api.TokenViewSet, basename="token")
router.register("audit-log", api.AuditEntryViewSet, basename="audit-entry")
router.register("notifications", api.NotificationViewSet, basename="notification")

accounts_urls = (
    [
        path("verify/", accounts.verify_view, name="verify"),
        path("mfa/", accounts.mfa_view, name="mfa"),
        path("mfa/remove/", accounts.mfa_disable_view, name="mfa-remove"),
    ],
    "accounts",
)
team_urls = (
    [
        path("", teams.team_list, name="list"),
        path("new/", teams.team_create, name="create"),
        path("<slug:slug>/", teams.team_detail, name="detail"),
        path("<slug:slug>/members/<int:pk>/remove/", teams.membership_remove, name="member-remove"),
        path("<slug:slug>/guests/", teams.team_guest_add, name="guest-add"),
        path("<slug:slug>/guests/<int:user_id>/remove/", teams.team_guest_remove, name="guest-remove"),
    ],
    "teams",
)
token_urls = (
    [path("", tokens.token_list, name="list"), path("<int:pk>/revoke/", tokens.token_revoke, name="revoke")],
    "tokens",
)
people_urls = (
    [
        path("", people.people_list, name="list"),
        path("<int:user_id>/role/", people.person_set_role, name="set-role"),
    ],
    "people",
)
notification_urls = (
    [
        path("", notifications.notification_list, name="list"),
        path("read-all/", notifications.notification_read_all, name="read-all"),
        path("<int:pk>/open/", notifications.notification_open, name="open"),
    ],
    "notifications",
)
audit_urls = (
    [path("", audit.audit_log, name="log"), path("export.csv", audit.audit_log_export, name="export")],
    "audit",
)
coming_soon_urls = (
    [path(f"{area}/", pages.coming_soon, {"area": area}, name=area) for area in pages.SOON_AREAS],
    "coming-soon",
)

api_urls = [
    path("auth/token/", api.ObtainTokenView.as_view(), name="api-obtain-token"),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("", include("assets.api.urls")),
    path("", include("findings.api.urls")),
    path("", include("audits.api.urls")),
    path("", include("incidents.api.urls")),
    path("", include("controls.api.urls")),
    path("", include("metrics.api.urls")),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", include("metrics.home_urls")),
    path("health/", pages.health, name="health"),
    path("accounts/login/", accounts.login_view, name="login"),
    path("accounts/logout/", accounts.logout_view, name="logout"),
    path("accounts/", include(accounts_urls)),
    path("teams/", include(team_urls)),
    path("tokens/", include(token_urls)),
    path("people/", include(people_urls)),
    path("audit-log/", include(audit_urls)),
    path("notifications/", include(notification_urls)),
    path("assets/", include("assets.urls")),
    path("findings/", include("findings.urls")),
    path("audits/", include("audits.urls")),
    path("exports/", include("audits.export_urls")),
    path("incidents/", include("incidents.urls")),
    path("controls/", include("controls.urls")),
    path("metrics/", include("metrics.urls")),
    path("", include(coming_soon_urls)),
    path("api/v1/", include(api_urls)),
    path("admin/", admin.site.urls),
]

# Styled pages that say why; JSON under /api/ (as the schema declares) for addresses that match no
# route and requests Django refuses before any view.
handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
