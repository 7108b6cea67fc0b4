"""Every write of the incidents app (see the modules for each concern)."""

from incidents.services.escalation import escalation_run
from incidents.services.exercises import exercise_record
from incidents.services.incidents import (
    incident_add_assets,
    incident_add_note,
    incident_correct_time,
    incident_grant,
    incident_link_finding,
    incident_report,
    incident_set_commander,
    incident_transition,
)
from incidents.services.playbooks import (
    LevelSpec,
    StepSpec,
    checklist_item_complete,
    playbook_create,
    playbook_revise,
    playbook_start,
)
from incidents.services.reviews import (
    anonymize,
    followup_add,
    followup_complete,
    identifying_terms,
    review_preview,
    review_publish,
    review_save,
)

__all__ = [
    "LevelSpec",
    "StepSpec",
    "anonymize",
    "checklist_item_complete",
    "escalation_run",
    "exercise_record",
    "followup_add",
    "followup_complete",
    "identifying_terms",
    "incident_add_assets",
    "incident_add_note",
    "incident_correct_time",
    "incident_grant",
    "incident_link_finding",
    "incident_report",
    "incident_set_commander",
    "incident_transition",
    "playbook_create",
    "playbook_revise",
    "playbook_start",
    "review_preview",
    "review_publish",
    "review_save",
]
