from django.urls import path

from incidents.views import incidents, playbooks

app_name = "incidents"
urlpatterns = [
    path("", incidents.incident_list, name="list"),
    path("report/", incidents.incident_report_view, name="report"),
    path("export.csv", incidents.incident_export_csv, name="export-csv"),
    path("export.json", incidents.incident_export_json, name="export-json"),
    path("learnings/", incidents.learning_list, name="learnings"),
    path("<int:pk>/", incidents.incident_detail, name="detail"),
    path("<int:pk>/transition/", incidents.incident_transition_view, name="transition"),
    path("<int:pk>/access/", incidents.incident_grant_view, name="grant"),
    path("<int:pk>/commander/", incidents.incident_commander_view, name="commander"),
    path("<int:pk>/correct-time/", incidents.incident_correct_time_view, name="correct-time"),
    path("<int:pk>/notes/", incidents.incident_note_view, name="note"),
    path("<int:pk>/findings/", incidents.incident_link_finding_view, name="link-finding"),
    path("<int:pk>/assets/", incidents.incident_add_assets_view, name="add-assets"),
    path("<int:pk>/playbook/", incidents.incident_start_playbook_view, name="start-playbook"),
    path("<int:pk>/steps/<int:item_id>/done/", incidents.checklist_item_done_view, name="step-done"),
    path("<int:pk>/review/", incidents.incident_review_view, name="review"),
    path("<int:pk>/publish/", incidents.incident_publish_view, name="publish"),
    path("<int:pk>/followups/", incidents.incident_followup_view, name="followup"),
    path("followups/<int:pk>/done/", incidents.followup_done_view, name="followup-done"),
    path("playbooks/", playbooks.playbook_list, name="playbooks"),
    path("playbooks/new/", playbooks.playbook_create_view, name="playbook-create"),
    path("playbooks/<slug:slug>/", playbooks.playbook_detail, name="playbook"),
    path("playbooks/<slug:slug>/edit/", playbooks.playbook_edit_view, name="playbook-edit"),
    path("exercises/", playbooks.exercise_list, name="exercises"),
    path("exercises/new/", playbooks.exercise_create_view, name="exercise-create"),
    path("exercises/<int:pk>/", playbooks.exercise_detail, name="exercise"),
    path("exercises/<int:pk>/followups/", playbooks.exercise_followup_view, name="exercise-followup"),
]
