from django.urls import path
from rest_framework.routers import SimpleRouter

from findings.api import findings as findings_api
from findings.api import scans
from findings.api import sources as sources_api

router = SimpleRouter()
router.register("findings", findings_api.FindingViewSet, basename="finding")
router.register("scan-sources", sources_api.ScanSourceViewSet, basename="scan-source")
router.register("scan-folder-grants", sources_api.FolderGrantViewSet, basename="scan-folder-grant")

urlpatterns: list = [
    path("scans/", scans.ScanListView.as_view(), name="api-scan-list"),
    path("scans/<int:pk>/", scans.ScanDetailView.as_view(), name="api-scan-detail"),
    path("scans/<int:pk>/retry/", scans.ScanRetryView.as_view(), name="api-scan-retry"),
    path("scans/<int:pk>/probes/", scans.ScanProbesView.as_view(), name="api-scan-probes"),
    *router.urls,
]
