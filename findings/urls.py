from django.urls import path

from findings.views import findings, jobs, sources

app_name = "findings"
urlpatterns = [
    path("", findings.finding_list, name="list"),
    path("<int:pk>/", findings.finding_detail, name="detail"),
    path("status/", findings.finding_bulk_status, name="bulk-status"),
    path("sources/", sources.source_list, name="sources"),
    path("sources/new/", sources.source_create, name="source-create"),
    path("sources/folders/", sources.drop_folders, name="folders"),
    path("sources/folders/<int:pk>/remove/", sources.folder_grant_remove, name="folder-grant-remove"),
    path("sources/<int:pk>/", sources.source_detail, name="source"),
    path("sources/<int:pk>/edit/", sources.source_edit, name="source-edit"),
    path("sources/<int:pk>/delete/", sources.source_delete, name="source-delete"),
    path("sources/<int:pk>/pull/", sources.source_pull, name="source-pull"),
    path("upload/", jobs.scan_upload, name="upload"),
    path("imports/", jobs.job_list, name="jobs"),
    path("imports/<int:pk>/", jobs.job_detail, name="job"),
    path("imports/<int:pk>/raw/", jobs.job_raw_file, name="job-raw"),
    path("imports/<int:pk>/retry/", jobs.job_retry, name="job-retry"),
]
