from django.urls import path

from audits.api import views

urlpatterns = [
    path("engagements/", views.EngagementListView.as_view(), name="api-engagement-list"),
    path("engagements/<int:pk>/", views.EngagementDetailView.as_view(), name="api-engagement-detail"),
    path("engagements/<int:pk>/end/", views.EngagementEndView.as_view(), name="api-engagement-end"),
    path("engagements/<int:pk>/bundles/", views.EngagementBundleView.as_view(), name="api-engagement-bundle"),
    path("engagements/<int:pk>/report/", views.EngagementReportView.as_view(), name="api-engagement-report"),
    path("engagements/<int:pk>/oscal/", views.EngagementOscalView.as_view(), name="api-engagement-oscal"),
    path(
        "engagements/<int:pk>/records/<slug:key>/<str:export_format>/",
        views.EngagementRecordsView.as_view(),
        name="api-engagement-records",
    ),
    path("bundles/verify/", views.BundleVerifyView.as_view(), name="api-bundle-verify"),
    path("bundles/<int:pk>/", views.BundleDetailView.as_view(), name="api-bundle-detail"),
    path("bundles/<int:pk>/download/", views.BundleDownloadView.as_view(), name="api-bundle-download"),
    path("exports/", views.ExportListView.as_view(), name="api-export-list"),
    path("exports/<slug:key>/<str:export_format>/", views.ExportDownloadView.as_view(), name="api-export"),
]
