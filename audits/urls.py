from django.urls import path

from audits.views import bundles, engagements

app_name = "audits"
urlpatterns = [
    path("", engagements.engagement_list, name="list"),
    path("new/", engagements.engagement_create, name="create"),
    path("verify/", bundles.verify_page, name="verify"),
    path("<int:pk>/", engagements.engagement_detail, name="engagement"),
    path("<int:pk>/leave/", engagements.engagement_leave, name="leave"),
    path("<int:pk>/end/", engagements.engagement_finish, name="end"),
    path("<int:pk>/bundles/", bundles.bundle_create, name="bundle-create"),
    path("<int:pk>/report.pdf", bundles.report_pdf, name="report"),
    path("<int:pk>/oscal.json", bundles.oscal_json, name="oscal"),
    path("<int:pk>/records/<slug:key>.<str:export_format>", bundles.section_records, name="records"),
    path("bundles/<int:pk>/", bundles.bundle_detail, name="bundle"),
    path("bundles/<int:pk>/status/", bundles.bundle_status, name="bundle-status"),
    path("bundles/<int:pk>/download/", bundles.bundle_download, name="bundle-download"),
]
