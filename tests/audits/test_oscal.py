"""OSCAL assessment results, validated by compliance-trestle's OSCAL 1.1 models (made from NIST's schema)."""

import json

import pytest
from trestle.oscal import OSCAL_VERSION_REGEX
from trestle.oscal.assessment_results import AssessmentResults

from audits.services.oscal import engagement_oscal

pytestmark = pytest.mark.django_db


def test_oscal_assessment_results_validate_against_the_oscal_1_1_schema(estate, engagement, lead):
    document = engagement_oscal(engagement=engagement, actor=lead)
    body = json.loads(json.dumps(document))["assessment-results"]
    parsed = AssessmentResults.parse_obj(body)  # raises on anything the schema refuses
    assert parsed.metadata.oscal_version.__root__ == "1.1.3"
    import re

    assert re.match(OSCAL_VERSION_REGEX, parsed.metadata.oscal_version.__root__)
    observations = parsed.results[0].observations
    assert [o.title for o in observations] == [
        f"{estate['findings']['churn-model'].rule_id}: Issue on churn-model"
    ]


def test_oscal_results_leave_out_what_the_engagement_does_not_open(estate, engagement, lead):
    text = json.dumps(engagement_oscal(engagement=engagement, actor=lead))
    assert "patients" not in text and "platform-api" not in text


def test_oscal_results_of_a_restricted_engagement_include_restricted_findings(
    estate, restricted_engagement, lead
):
    text = json.dumps(engagement_oscal(engagement=restricted_engagement, actor=lead))
    assert "Issue on patients" in text and "platform-api" not in text
