from django.urls import include, path
from rest_framework.routers import SimpleRouter

from assets.api import imports
from assets.api import views as assets_api

router = SimpleRouter()
router.register("assets", assets_api.AssetViewSet, basename="asset")
router.register("lineage-edges", assets_api.EdgeViewSet, basename="lineage-edge")
router.register("classification-levels", assets_api.LevelViewSet, basename="classification-level")
router.register("policy-violations", assets_api.ViolationViewSet, basename="policy-violation")

urlpatterns: list = [
    path("asset-import/bom/", imports.BomImportView.as_view(), name="api-asset-import-bom"),
    path("asset-import/csv/", imports.CsvImportView.as_view(), name="api-asset-import-csv"),
    path("asset-export/csv/", imports.ExportCsvView.as_view(), name="api-asset-export-csv"),
    path("asset-export/json/", imports.ExportJsonView.as_view(), name="api-asset-export-json"),
    path("", include(router.urls)),
]
