from django.urls import path
from rest_framework.routers import SimpleRouter

from controls.api import views

router = SimpleRouter()
router.register("frameworks", views.FrameworkViewSet, basename="framework")
router.register("controls", views.ControlViewSet, basename="control")
router.register("assessments", views.AssessmentViewSet, basename="assessment")
router.register("exceptions", views.ExceptionViewSet, basename="exception")
router.register("control-owners", views.OwnershipViewSet, basename="control-owner")

urlpatterns: list = [
    path("compliance/", views.ComplianceView.as_view(), name="api-compliance"),
    path("control-gaps/", views.GapListView.as_view(), name="api-control-gaps"),
    path("evidence/<int:pk>/download/", views.EvidenceDownloadView.as_view(), name="api-evidence-download"),
    *router.urls,
]
