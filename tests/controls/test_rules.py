"""Each automated rule on a small data set: passing, failing, not applicable, excepted."""

import datetime as dt

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from assets.models import DatasetProvenance, PolicyRule, PolicyViolation
from controls.models import AssessmentStatus, Evidence
from tests.factories import MembershipFactory, UserFactory
from tests.factories.assets import AssetFactory, level
from tests.factories.controls import ControlFactory, ExceptionFactory
from tests.factories.findings import FindingFactory, ImportJobFactory

pytestmark = pytest.mark.django_db

PASSING, FAILING = AssessmentStatus.PASSING, AssessmentStatus.FAILING
NA, EXCEPTED = AssessmentStatus.NOT_APPLICABLE, AssessmentStatus.EXCEPTED
NOT_ASSESSED = AssessmentStatus.NOT_ASSESSED


def days_ago(n):
    return timezone.now() - dt.timedelta(days=n)


def test_dependency_scanning_passes_with_a_recent_dependency_scan_and_fails_without(team_a, assess):
    control = ControlFactory(rule="scan_dependencies", cadence_days=7, applies_to_kinds=["container_image"])
    fresh = AssetFactory(team=team_a, kind="container_image")
    stale = AssetFactory(team=team_a, kind="container_image")
    never = AssetFactory(team=team_a, kind="container_image")
    dataset = AssetFactory(team=team_a, kind="dataset")
    ImportJobFactory(asset=fresh, format="grype", started_at=days_ago(2))
    ImportJobFactory(asset=stale, format="trivy", started_at=days_ago(20))
    # A secret scan is not a dependency scan, however recent.
    ImportJobFactory(asset=never, format="gitleaks", started_at=days_ago(1))

    assert assess(control, fresh).status == PASSING
    assert assess(control, stale).status == FAILING
    never_row = assess(control, never)
    assert never_row.status == FAILING
    assert "No dependency scan" in never_row.reason
    assert assess(control, dataset).status == NA


def test_failed_imports_do_not_count_as_scanning(team_a, assess):
    control = ControlFactory(rule="scan_secrets", cadence_days=30)
    asset = AssetFactory(team=team_a, kind="repository")
    ImportJobFactory(asset=asset, format="gitleaks", status="failed", started_at=days_ago(1))
    assert assess(control, asset).status == FAILING
    ImportJobFactory(asset=asset, format="gitleaks", started_at=days_ago(1))
    assert assess(control, asset).status == PASSING


def test_scanning_rules_judge_an_import_by_the_kinds_of_checks_it_held_not_its_format(team_a, assess):
    secrets = ControlFactory(rule="scan_secrets", cadence_days=30)
    asset = AssetFactory(team=team_a, kind="repository")
    # A SARIF file whose findings were secrets (a notebook secret scan) is a secret scan.
    ImportJobFactory(
        asset=asset, format="sarif", check_types=["secret", "static_analysis"], started_at=days_ago(2)
    )
    assert assess(secrets, asset).status == PASSING
    other = AssetFactory(team=team_a, kind="repository")
    # A job that recorded only infrastructure-as-code checks is no secret scan, whatever its format.
    ImportJobFactory(asset=other, format="trivy", check_types=["iac"], started_at=days_ago(2))
    assert assess(secrets, other).status == FAILING


def test_static_analysis_counts_sarif_of_any_tool(team_a, assess):
    control = ControlFactory(rule="scan_static", cadence_days=30)
    asset = AssetFactory(team=team_a, kind="repository")
    ImportJobFactory(asset=asset, format="sarif", started_at=days_ago(3))
    row = assess(control, asset)
    assert row.status == PASSING
    assert "sarif" in row.reason


def test_patching_fails_on_a_finding_past_sla_and_is_excepted_when_its_risk_is_accepted(team_a, assess):
    control = ControlFactory(rule="patching_sla", cadence_days=1)
    clean = AssetFactory(team=team_a, kind="container_image")
    late = AssetFactory(team=team_a, kind="container_image")
    accepted = AssetFactory(team=team_a, kind="container_image")
    today = timezone.localdate()
    FindingFactory(asset=clean, sla_due=today + dt.timedelta(days=3))
    FindingFactory(asset=clean, sla_due=today - dt.timedelta(days=30), status="mitigated")
    FindingFactory(asset=late, sla_due=today - dt.timedelta(days=2))
    FindingFactory(asset=accepted, sla_due=today - dt.timedelta(days=2), status="risk_accepted")

    clean_row = assess(control, clean)
    assert clean_row.status == PASSING
    assert clean_row.due_on == today + dt.timedelta(days=3)
    late_row = assess(control, late)
    assert late_row.status == FAILING
    assert "1 open finding(s) past their SLA" in late_row.reason
    assert assess(control, accepted).status == EXCEPTED


def test_no_open_secrets_fails_on_an_open_secret_finding_only(team_a, assess):
    control = ControlFactory(rule="no_open_secrets", applies_to_kinds=["repository"])
    leaky = AssetFactory(team=team_a, kind="repository")
    tidy = AssetFactory(team=team_a, kind="repository")
    image = AssetFactory(team=team_a, kind="model")
    FindingFactory(asset=leaky, category="secret", rule_id="aws-access-token")
    FindingFactory(asset=tidy, category="secret", status="false_positive")
    FindingFactory(asset=tidy, category="vulnerability")
    assert assess(control, leaky).status == FAILING
    assert assess(control, tidy).status == PASSING
    assert assess(control, image).status == NA


def test_environment_segregation_fails_on_the_existing_policy_violation(team_a, assess):
    control = ControlFactory(rule="environment_segregation")
    prod = AssetFactory(team=team_a, environment="production")
    dev = AssetFactory(team=team_a, environment="development")
    PolicyViolation.objects.create(
        asset=prod, rule=PolicyRule.ENVIRONMENT_SEGREGATION, detail="Depends on dev thing.", related_asset=dev
    )
    row = assess(control, prod)
    assert row.status == FAILING
    assert row.reason == "Depends on dev thing."
    assert assess(control, dev).status == PASSING


def test_environment_segregation_passes_once_the_violation_is_resolved(team_a, assess):
    # The metrics keep resolved violations (with their date) instead of deleting them.
    control = ControlFactory(rule="environment_segregation")
    prod = AssetFactory(team=team_a, environment="production")
    dev = AssetFactory(team=team_a, environment="development")
    PolicyViolation.objects.create(
        asset=prod,
        rule=PolicyRule.ENVIRONMENT_SEGREGATION,
        detail="Depended on dev thing.",
        related_asset=dev,
        resolved_at=days_ago(1),
    )
    assert assess(control, prod).status == PASSING


def test_classification_present_and_minimum_classification_applicability(team_a, assess):
    classified = ControlFactory(rule="classification_present")
    restricted_only = ControlFactory(rule="classification_present", min_classification=level("restricted"))
    unclassified = AssetFactory(team=team_a)
    secret = AssetFactory(team=team_a, classification=level("restricted"))
    assert assess(classified, unclassified).status == FAILING
    assert assess(classified, secret).status == PASSING
    assert assess(restricted_only, unclassified).status == NA
    assert "restricted data or above" in assess(restricted_only, unclassified).explanation


def test_mfa_rule_fails_until_everyone_with_access_has_a_confirmed_second_factor(
    team_a, owner, teammate, assess
):
    control = ControlFactory(rule="mfa_for_access", min_classification=level("restricted"))
    asset = AssetFactory(team=team_a, classification=level("restricted"))
    TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    row = assess(control, asset)
    assert row.status == FAILING
    assert "teammate" in row.reason and "owner" not in row.reason
    TOTPDevice.objects.create(user=teammate, name="phone", confirmed=True)
    assert assess(control, asset).status == PASSING


def test_mfa_rule_counts_people_granted_the_asset_by_name(team_a, owner, outsider, assess):
    from guardian.shortcuts import assign_perm

    control = ControlFactory(rule="mfa_for_access")
    asset = AssetFactory(team=team_a, classification=level("restricted"))
    TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    assert assess(control, asset).status == PASSING
    assign_perm("assets.view_asset", outsider, asset)
    row = assess(control, asset)
    assert row.status == FAILING
    assert "outsider" in row.reason


def test_provenance_rule_needs_a_source_and_an_unexpired_retention(team_a, assess):
    control = ControlFactory(rule="provenance_recorded", applies_to_kinds=["dataset"])
    good = AssetFactory(team=team_a, kind="dataset")
    none = AssetFactory(team=team_a, kind="dataset")
    expired = AssetFactory(team=team_a, kind="dataset")
    DatasetProvenance.objects.create(dataset=good, source="Support tickets")
    DatasetProvenance.objects.create(
        dataset=expired, source="Old logs", retention_until=timezone.localdate() - dt.timedelta(days=1)
    )
    assert assess(control, good).status == PASSING
    assert assess(control, none).status == FAILING
    assert "Retention ended" in assess(control, expired).reason


def test_technical_owner_rule(team_a, owner, assess):
    control = ControlFactory(rule="owner_recorded")
    named = AssetFactory(team=team_a, technical_owner=owner)
    anonymous = AssetFactory(team=team_a)
    assert assess(control, named).status == PASSING
    assert assess(control, anonymous).status == FAILING


def test_an_approved_control_exception_makes_a_failing_assessment_excepted_until_it_expires(
    team_a, owner, assess
):
    control = ControlFactory(rule="owner_recorded")
    asset = AssetFactory(team=team_a)
    ExceptionFactory(asset=asset, control=control, status="approved", requested_by=owner)
    row = assess(control, asset)
    assert row.status == EXCEPTED
    assert row.exception_id is not None
    assert "Without it: No technical owner" in row.reason
    ExceptionFactory(
        asset=AssetFactory(team=team_a), control=control, status="requested", requested_by=owner
    )  # a request alone changes nothing


def test_retired_assets_are_not_applicable(team_a, assess):
    control = ControlFactory(rule="owner_recorded")
    asset = AssetFactory(team=team_a, lifecycle="retired")
    row = assess(control, asset)
    assert row.status == NA
    assert "retired" in row.reason


def test_attested_control_passes_with_fresh_evidence_and_falls_due_when_it_expires(team_a, owner, assess):
    control = ControlFactory(rule="evidence", cadence_days=90)
    asset = AssetFactory(team=team_a)
    row = assess(control, asset)
    assert row.status == NOT_ASSESSED
    assert row.reason == "No evidence has been attached yet."
    today = timezone.localdate()
    Evidence.objects.create(
        assessment=row, team=team_a, kind="text", title="Review", text="ok", collected_by=owner,
        collected_on=today - dt.timedelta(days=10), expires_on=today + dt.timedelta(days=5),
    )  # fmt: skip
    row = assess(control, asset)
    assert row.status == PASSING
    assert row.due_on == today + dt.timedelta(days=5)
    Evidence.objects.filter(assessment=row).update(expires_on=today - dt.timedelta(days=1))
    row = assess(control, asset)
    assert row.status == NOT_ASSESSED
    assert "expired" in row.reason


def test_evidence_fresh_rule_fails_while_an_attested_control_lacks_evidence(team_a, owner, assess):
    attested = ControlFactory(code="TST-ATT", rule="evidence")
    fresh = ControlFactory(code="TST-ZZZ", rule="evidence_fresh")
    asset = AssetFactory(team=team_a)
    row = assess(fresh, asset)
    assert row.status == FAILING
    assert "TST-ATT" in row.reason
    target = assess(attested, asset)
    Evidence.objects.create(
        assessment=target, team=team_a, kind="text", title="t", text="ok", collected_by=owner
    )
    assert assess(fresh, asset).status == PASSING


def test_team_level_controls_are_assessed_per_team(team_a, team_b, assess):
    control = ControlFactory(rule="evidence", scope="team")
    assert assess(control, team=team_a).status == NOT_ASSESSED
    assert assess(control, team=team_b).status == NOT_ASSESSED


def test_reassessing_one_asset_leaves_the_others_alone(team_a, assess):
    from controls.models import Assessment

    control = ControlFactory(rule="owner_recorded")
    one = AssetFactory(team=team_a)
    other = AssetFactory(team=team_a)
    assess(control, one)
    Assessment.objects.filter(asset=other).update(reason="untouched")
    user = UserFactory()
    MembershipFactory(team=team_a, user=user)
    one.technical_owner = user
    one.save()
    row = assess(control, one, asset_ids=[one.pk])
    assert row.status == PASSING
    assert Assessment.objects.get(asset=other).reason == "untouched"


def test_compliance_counts_follow_the_assessments(team_a):
    from controls.models import ComplianceCount

    control = ControlFactory(rule="owner_recorded")
    AssetFactory(team=team_a)
    AssetFactory(team=team_a, kind="model")
    from controls.services.assessments import assessment_run

    assessment_run()
    counts = dict(ComplianceCount.objects.filter(control=control).values_list("status", "count"))
    assert counts == {FAILING: 2}


def test_compliance_counts_stay_right_after_runs_over_single_assets(team_a, team_b, owner):
    from django.db.models import Count

    from controls.models import Assessment, ComplianceCount
    from controls.services.assessments import assessment_run, assessments_for_assets

    control = ControlFactory(rule="owner_recorded")
    one = AssetFactory(team=team_a)
    AssetFactory(team=team_a)
    assessment_run()
    one.technical_owner = owner
    one.team = team_b  # moved to another team and fixed at once
    one.save()
    assessments_for_assets(asset_ids=[one.pk])
    expected = {
        (row["team_id"], row["status"]): row["n"]
        for row in Assessment.objects.filter(control=control)
        .values("team_id", "status")
        .annotate(n=Count("id"))
    }
    counted = {(c.team_id, c.status): c.count for c in ComplianceCount.objects.filter(control=control)}
    assert counted == expected == {(team_a.pk, FAILING): 1, (team_b.pk, PASSING): 1}


def test_not_applicable_results_explain_themselves_from_the_control(team_a, assess):
    control = ControlFactory(
        rule="owner_recorded", applies_to_kinds=["model"], applies_to_environments=["production"]
    )
    row = assess(control, AssetFactory(team=team_a, kind="dataset"))
    assert row.status == NA
    assert row.reason == ""  # not stored once per asset
    assert row.explanation == "Not applicable: applies to active assets that are model in production."
