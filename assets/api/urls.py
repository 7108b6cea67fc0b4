from django.urls import path

from assets.api import imports

urlpatterns: list = [
    path("asset-import/bom/", imports.BomImportView.as_view(), name="api-asset-import-bom"),
    path("asset-import/csv/", imports.CsvImportView.as_view(), name="api-asset-import-csv"),
    path("asset-export/csv/", imports.ExportCsvView.as_view(), name="api-asset-export-csv"),
    path("asset-export/json/", imports.ExportJsonView.as_view(), name="api-asset-export-json"),
]
