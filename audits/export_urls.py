from django.urls import path

from audits.views import exports

app_name = "exports"
urlpatterns = [
    path("", exports.export_index, name="index"),
    path("<slug:key>.<str:export_format>", exports.export_download, name="download"),
]
