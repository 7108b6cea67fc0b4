from django.urls import path

from controls.views import catalogue, compliance, exceptions

app_name = "controls"
urlpatterns = [
    path("", catalogue.control_list, name="list"),
    path("new/", catalogue.control_create_view, name="create"),
    path("compliance/", compliance.compliance, name="compliance"),
    path("assessments/", compliance.assessment_list, name="assessments"),
    path("assessments/<int:pk>/", compliance.assessment_detail, name="assessment"),
    path("assessments/<int:pk>/evidence/", compliance.evidence_add_view, name="evidence-add"),
    path("evidence/<int:pk>/download/", compliance.evidence_download, name="evidence-download"),
    path("frameworks/", catalogue.framework_list_view, name="frameworks"),
    path("frameworks/<slug:slug>/", catalogue.framework_detail, name="framework"),
    path("gaps/", compliance.gaps, name="gaps"),
    path("gaps/<slug:slug>/", compliance.gaps, name="team-gaps"),
    path("gaps/<slug:slug>/assign/", compliance.gap_assign, name="assign"),
    path("exceptions/", exceptions.exception_list, name="exceptions"),
    path("exceptions/new/", exceptions.exception_request_view, name="exception-request"),
    path("exceptions/<int:pk>/", exceptions.exception_detail, name="exception"),
    path("exceptions/<int:pk>/approve/", exceptions.exception_approve_view, name="exception-approve"),
    path("exceptions/<int:pk>/reject/", exceptions.exception_reject_view, name="exception-reject"),
    path("exceptions/<int:pk>/withdraw/", exceptions.exception_withdraw_view, name="exception-withdraw"),
    path("<str:code>/", catalogue.control_detail, name="detail"),
    path("<str:code>/edit/", catalogue.control_edit_view, name="edit"),
    path("<str:code>/retire/", catalogue.control_retire_view, name="retire"),
    path("<str:code>/owners/", catalogue.ownership_edit_view, name="owners"),
    path("<str:code>/mappings/", catalogue.mapping_add_view, name="mapping-add"),
    path("<str:code>/mappings/<int:pk>/remove/", catalogue.mapping_remove_view, name="mapping-remove"),
]
