"""Rules that read other apps' data: incident-response exercises (team level) and the AI evidence (model-file
scans and red-team runs imported as findings); the baseline's tabletop and DR-drill controls become them."""

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from controls.models import Assessment, AssessmentStatus, Control, Mode
from tests.factories.assets import AssetFactory
from tests.factories.controls import ControlFactory
from tests.factories.findings import FindingFactory, ImportJobFactory
from tests.factories.incidents import ExerciseFactory

pytestmark = pytest.mark.django_db

PASSING, FAILING = AssessmentStatus.PASSING, AssessmentStatus.FAILING
NA, EXCEPTED = AssessmentStatus.NOT_APPLICABLE, AssessmentStatus.EXCEPTED
NOT_ASSESSED = AssessmentStatus.NOT_ASSESSED


def days_ago(n):
    return timezone.now() - dt.timedelta(days=n)


def day(n):
    return timezone.localdate() - dt.timedelta(days=n)


def test_tabletop_rule_passes_for_a_team_that_exercised_within_cadence_and_fails_otherwise(
    team_a, team_b, assess
):
    control = ControlFactory(rule="exercise_tabletop", scope="team", cadence_days=180)
    ExerciseFactory(team=team_a, kind="tabletop", held_on=day(20))
    # A DR drill is not a tabletop, and the other team's old tabletop is past the cadence.
    ExerciseFactory(team=team_b, kind="dr_drill", held_on=day(5))
    ExerciseFactory(team=team_b, kind="tabletop", held_on=day(400))

    row = assess(control, team=team_a)
    assert row.status == PASSING
    assert "Last tabletop exercise held on" in row.reason
    assert row.due_on == day(20) + dt.timedelta(days=180)
    row = assess(control, team=team_b)
    assert row.status == FAILING
    assert "more than 180 days ago" in row.reason


def test_dr_drill_rule_fails_without_any_drill_and_ignores_exercises_planned_in_the_future(team_a, assess):
    control = ControlFactory(rule="exercise_dr_drill", scope="team", cadence_days=365)
    ExerciseFactory(team=team_a, kind="dr_drill", held_on=timezone.localdate() + dt.timedelta(days=3))
    row = assess(control, team=team_a)
    assert row.status == FAILING
    assert row.reason == "The team has recorded no disaster-recovery drill."
    ExerciseFactory(team=team_a, kind="dr_drill", held_on=day(100))
    assert assess(control, team=team_a).status == PASSING


def test_safe_serialization_passes_when_scanned_clean_fails_on_an_open_model_file_finding(team_a, assess):
    control = ControlFactory(rule="model_safe_serialization", applies_to_kinds=["model"], cadence_days=90)
    clean = AssetFactory(team=team_a, kind="model")
    unsafe = AssetFactory(team=team_a, kind="model")
    accepted = AssetFactory(team=team_a, kind="model")
    never = AssetFactory(team=team_a, kind="model")
    repository = AssetFactory(team=team_a, kind="repository")
    for asset in (clean, unsafe, accepted):
        ImportJobFactory(asset=asset, format="modelscan", started_at=days_ago(3), finished_at=days_ago(3))
    # A dependency scan says nothing about how the model's files are serialized.
    ImportJobFactory(asset=never, format="trivy", started_at=days_ago(1))
    FindingFactory(asset=unsafe, team=team_a, category="model_file", rule_id="PICKLE-GLOBAL",
                   title="Unsafe pickle import os.system")  # fmt: skip
    FindingFactory(asset=accepted, team=team_a, category="model_file", status="risk_accepted")
    # A fixed model-file finding no longer counts.
    FindingFactory(asset=clean, team=team_a, category="model_file", status="mitigated")

    row = assess(control, clean)
    assert row.status == PASSING
    assert "modelscan" in row.reason
    row = assess(control, unsafe)
    assert row.status == FAILING
    assert "PICKLE-GLOBAL" in row.reason
    assert assess(control, accepted).status == EXCEPTED
    row = assess(control, never)
    assert row.status == NOT_ASSESSED
    assert "No model-file scan" in row.reason
    assert assess(control, repository).status == NA


def test_red_team_freshness_passes_within_cadence_and_fails_when_stale_or_never_run(team_a, assess):
    control = ControlFactory(
        rule="model_red_teamed", applies_to_kinds=["model"], applies_to_environments=["production"],
        cadence_days=90,
    )  # fmt: skip
    fresh = AssetFactory(team=team_a, kind="model", environment="production")
    stale = AssetFactory(team=team_a, kind="model", environment="production")
    never = AssetFactory(team=team_a, kind="model", environment="production")
    development = AssetFactory(team=team_a, kind="model", environment="development")
    ImportJobFactory(asset=fresh, format="garak", started_at=days_ago(10))
    ImportJobFactory(asset=stale, format="promptfoo", started_at=days_ago(120))
    ImportJobFactory(asset=never, format="modelscan", started_at=days_ago(1))
    ImportJobFactory(asset=never, format="garak", status="failed", started_at=days_ago(1))

    row = assess(control, fresh)
    assert row.status == PASSING
    assert "garak" in row.reason
    assert assess(control, stale).status == FAILING
    row = assess(control, never)
    assert row.status == FAILING
    assert "No red-team run" in row.reason
    assert assess(control, development).status == NA


def test_team_rules_are_refused_on_asset_controls_and_asset_rules_on_team_controls(lead):
    from controls.services.controls import control_create

    base = {"title": "T", "objective": "o", "domain": "resilience", "mode": "automated", "cadence_days": 30}
    with pytest.raises(ValidationError, match="assesses teams"):
        control_create(actor=lead, code="T-1", **base, rule="exercise_tabletop", scope="asset")
    with pytest.raises(ValidationError, match="assesses assets"):
        control_create(actor=lead, code="T-2", **base, rule="owner_recorded", scope="team")
    control = control_create(actor=lead, code="T-3", **base, rule="exercise_dr_drill", scope="team")
    assert control.mode == Mode.AUTOMATED


def test_baseline_seeding_automates_the_exercise_controls_once_and_keeps_a_leads_choice(team_a):
    call_command("seed_baseline", stdout=io.StringIO())
    tabletop = Control.objects.get(code="HYG-IR-02")
    assert (tabletop.mode, tabletop.rule) == ("automated", "exercise_tabletop")
    assert Control.objects.get(code="HYG-IR-03").rule == "exercise_dr_drill"
    assert Control.objects.get(code="HYG-MOD-01").rule == "model_safe_serialization"
    assert Control.objects.get(code="HYG-MOD-02").rule == "model_red_teamed"

    # An installation seeded before these rules existed: the controls were attested.
    Control.objects.filter(code__in=["HYG-IR-02", "HYG-IR-03"]).update(mode="attested", rule="evidence")
    # A lead moved the DR drill control to another team rule on purpose: kept.
    Control.objects.filter(code="HYG-IR-03").update(mode="automated", rule="exercise_tabletop")
    ExerciseFactory(team=team_a, kind="tabletop", held_on=day(10))
    out = io.StringIO()
    call_command("seed_baseline", stdout=out)
    tabletop.refresh_from_db()
    assert (tabletop.mode, tabletop.rule) == ("automated", "exercise_tabletop")
    assert Control.objects.get(code="HYG-IR-03").rule == "exercise_tabletop"
    # The automated control was assessed by the seeding run.
    assert Assessment.objects.get(control=tabletop, team=team_a).status == PASSING
    call_command("seed_baseline", stdout=io.StringIO())
    assert Control.objects.filter(code="HYG-IR-02", mode="automated").count() == 1
