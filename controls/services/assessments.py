"""Assessing controls: every rule is one set-based upsert per control, for everything or for a few
assets, followed by a rebuild of the compliance counts of the teams touched."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from assets.models import AssetKind, ClassificationLevel, Environment
from controls.models import Assessment, AssessmentStatus, Control, Scope
from controls.rules import Rule, rule_for
from hygiene.services.audit import audit_event

_COUNTS_LOCK_KEY = 0x0C0A7501


@dataclass(frozen=True)
class RunResult:
    controls: int
    rows: int
    seconds: float
    # Seconds per control code, for the benchmark and for operators chasing a slow rule.
    timings: dict[str, float] = field(default_factory=dict)


def applicability_text(control: Control, levels: dict[int, str] | None = None) -> str:
    """Where a control applies, in words ("active assets that are model or endpoint in production")."""
    if control.scope == Scope.TEAM:
        return "every team"
    kinds = dict(AssetKind.choices)
    environments = dict(Environment.choices)
    what = (
        "assets that are "
        + " or ".join(", ".join(kinds.get(k, k).lower() for k in control.applies_to_kinds).rsplit(", ", 1))
        if control.applies_to_kinds
        else "assets of any kind"
    )
    where = ""
    if control.applies_to_environments:
        where = " in " + " or ".join(environments.get(e, e).lower() for e in control.applies_to_environments)
    level = ""
    if control.min_classification_id:
        names = levels if levels is not None else dict(ClassificationLevel.objects.values_list("pk", "name"))
        level = f", with {names.get(control.min_classification_id, 'classified').lower()} data or above"
    return f"active {what}{where}{level}"


def _candidates_sql(control: Control, min_rank: int | None, params: dict[str, Any]) -> str:
    if control.scope == Scope.TEAM:
        where = "TRUE" if params["ids"] is None else "t.id = ANY(%(ids)s)"
        return (
            "SELECT t.id, t.id AS team_id, FALSE AS is_restricted, TRUE AS applicable"
            f" FROM hygiene_team t WHERE {where}"
        )
    conditions = ["a.lifecycle = 'active'"]
    if control.applies_to_kinds:
        conditions.append("a.kind = ANY(%(kinds)s)")
        params["kinds"] = list(control.applies_to_kinds)
    if control.applies_to_environments:
        conditions.append("a.environment = ANY(%(environments)s)")
        params["environments"] = list(control.applies_to_environments)
    if min_rank is not None:
        conditions.append("coalesce(l.rank, -1) >= %(min_rank)s")
        params["min_rank"] = min_rank
    where = "TRUE" if params["ids"] is None else "a.id = ANY(%(ids)s)"
    return (
        f"SELECT a.id, a.team_id, a.is_restricted, ({' AND '.join(conditions)}) AS applicable,"
        " a.lifecycle FROM assets_asset a"
        f" LEFT JOIN assets_classificationlevel l ON l.id = a.effective_classification_id WHERE {where}"
    )


def _upsert_sql(control: Control, rule: Rule, candidates: str, *, everything: bool) -> str:
    team = control.scope == Scope.TEAM
    exceptions = (
        "SELECT NULL::bigint AS subject_id, NULL::bigint AS id, NULL::date AS expires_on WHERE FALSE"
        if team
        else "SELECT DISTINCT ON (x.asset_id) x.asset_id AS subject_id, x.id, x.expires_on"
        " FROM controls_riskexception x WHERE x.control_id = %(control)s AND x.status = 'approved'"
        " AND x.expires_on >= %(today)s AND x.asset_id IN (SELECT id FROM cand)"
        " ORDER BY x.asset_id, x.expires_on DESC"
    )
    not_applicable = (
        "'Not applicable: the asset is retired.'"
        if team
        else "CASE WHEN cand.lifecycle <> 'active' THEN 'Not applicable: the asset is retired.'"
        # The control's applicability says why (Assessment.explanation), rather than 100,000 copies here.
        " ELSE '' END"
    )
    asset_column = "NULL" if team else "cand.id"
    conflict = (
        "(control_id, team_id) WHERE asset_id IS NULL"
        if team
        else "(asset_id, control_id) WHERE asset_id IS NOT NULL"
    )
    # A run over everything rewrites only the results that changed (the control records when it ran);
    # a run over a few subjects rewrites them, so each shows when it was checked.
    only_changed = (
        "WHERE (controls_assessment.status, controls_assessment.reason, controls_assessment.due_on,"
        " controls_assessment.team_id, controls_assessment.restricted, controls_assessment.exception_id)"
        " IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.reason, EXCLUDED.due_on, EXCLUDED.team_id,"
        " EXCLUDED.restricted, EXCLUDED.exception_id)"
        if everything
        else ""
    )
    # The rule reads only the subjects the control applies to; the others are written not applicable.
    return f"""
WITH subjects AS ({candidates}),
cand AS (SELECT * FROM subjects WHERE applicable),
r AS ({rule.sql}),
ex AS ({exceptions})
INSERT INTO controls_assessment
  (control_id, asset_id, team_id, restricted, status, reason, due_on, exception_id, assessed_at, changed_at)
SELECT %(control)s, {asset_column}, cand.team_id, cand.is_restricted,
  CASE WHEN NOT cand.applicable THEN 'not_applicable' WHEN ex.id IS NOT NULL THEN 'excepted'
       ELSE coalesce(r.status, 'not_assessed') END,
  CASE WHEN NOT cand.applicable THEN {not_applicable}
       WHEN ex.id IS NOT NULL THEN 'Excepted until ' || ex.expires_on || ' by exception #' || ex.id
            || '. Without it: ' || coalesce(r.reason, '')
       ELSE coalesce(r.reason, '') END,
  CASE WHEN NOT cand.applicable THEN NULL WHEN ex.id IS NOT NULL THEN ex.expires_on ELSE r.due_on END,
  CASE WHEN cand.applicable THEN ex.id END,
  %(now)s, %(now)s
FROM subjects cand LEFT JOIN r ON r.subject_id = cand.id LEFT JOIN ex ON ex.subject_id = cand.id
ON CONFLICT {conflict} DO UPDATE SET
  team_id = EXCLUDED.team_id, restricted = EXCLUDED.restricted, status = EXCLUDED.status,
  reason = EXCLUDED.reason, due_on = EXCLUDED.due_on, exception_id = EXCLUDED.exception_id,
  assessed_at = EXCLUDED.assessed_at,
  changed_at = CASE WHEN controls_assessment.status = EXCLUDED.status THEN controls_assessment.changed_at
                    ELSE EXCLUDED.changed_at END
{only_changed}
"""


def _control_statement(
    control: Control,
    ids: list[int] | None,
    today: dt.date,
    now: dt.datetime,
    ranks: dict[int, int],
    levels: dict[int, str],
) -> tuple[str, dict[str, Any]]:
    """The upsert that assesses ``control`` over ``ids`` (None: everything), with its parameters."""
    rule = rule_for(control.rule, team_level=control.scope == Scope.TEAM)
    params: dict[str, Any] = {
        **rule.params,
        "ids": ids,
        "control": control.pk,
        "today": today,
        "now": now,
        "cadence": control.cadence_days,
        "since": now - dt.timedelta(days=control.cadence_days),
    }
    min_rank = ranks.get(control.min_classification_id) if control.min_classification_id else None
    return _upsert_sql(
        control, rule, _candidates_sql(control, min_rank, params), everything=ids is None
    ), params


def _run_control(control: Control, today: dt.date, now: dt.datetime, ranks: dict[int, int],
                 levels: dict[int, str]) -> int:  # fmt: skip
    """Assess one control everywhere and record when it ran."""
    sql, params = _control_statement(control, None, today, now, ranks, levels)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = int(cursor.rowcount)
    Control.objects.filter(pk=control.pk).update(last_assessed_at=now)
    return written


_PARAM = re.compile(r"%\((\w+)\)s")


def _run_batch(statements: list[tuple[str, dict[str, Any]]]) -> None:
    """Run the statements of a few subjects in one round trip (their parameters renamed apart)."""
    if not statements:
        return
    parts, params = [], {}
    for n, (sql, values) in enumerate(statements):
        parts.append(_PARAM.sub(lambda m, n=n: f"%(s{n}_{m.group(1)})s", sql))  # type: ignore[misc]
        params.update({f"s{n}_{key}": value for key, value in values.items()})
    with connection.cursor() as cursor:
        cursor.execute(";\n".join(parts), params)


def _ordered(controls: Iterable[Control]) -> list[Control]:
    return sorted(
        controls, key=lambda c: (rule_for(c.rule, team_level=c.scope == Scope.TEAM).runs_last, c.code)
    )


def assessment_run(
    *,
    asset_ids: list[int] | None = None,
    team_ids: list[int] | None = None,
    controls: list[Control] | None = None,
    today: dt.date | None = None,
) -> RunResult:
    """Assess controls over everything (no ids), or over some assets and/or teams, then recount."""
    started = timezone.now()
    now = started
    today = today or timezone.localdate()
    everything = asset_ids is None and team_ids is None
    selected = _ordered(controls if controls is not None else Control.objects.active())
    ranks = dict(ClassificationLevel.objects.values_list("pk", "rank"))
    levels = dict(ClassificationLevel.objects.values_list("pk", "name"))
    rows = 0
    timings: dict[str, float] = {}
    with transaction.atomic():
        before = None if everything else _subject_tallies(asset_ids or [], team_ids or [])
        if everything:
            for control in selected:
                clock = time.perf_counter()
                rows += _run_control(control, today, now, ranks, levels)
                timings[control.code] = round(time.perf_counter() - clock, 3)
        else:
            # A few subjects: every control in one round trip, in order (evidence_fresh reads the others).
            statements = [
                _control_statement(control, ids, today, now, ranks, levels)
                for control in selected
                if (ids := team_ids if control.scope == Scope.TEAM else asset_ids)
            ]
            _run_batch(statements)
            rows = len(statements)
        if before is None:
            compliance_counts_rebuild(team_ids=None)
            audit_event(
                action="assessment_run",
                object_type="controls_assessment",
                actor_label="assessment worker",
                detail={"controls": len(selected), "results_written": rows},
            )
        else:
            after = _subject_tallies(asset_ids or [], team_ids or [])
            _counts_adjust(before, after)
            # Assessments are machine-written in bulk and not audited by trigger: the run is the entry,
            # whether it covered everything or a few subjects (after an import, evidence, an exception).
            audit_event(
                action="assessment_run",
                object_type="controls_assessment",
                actor_label="assessment worker",
                detail={
                    "controls": len(selected),
                    "results_written": rows,
                    "assets": sorted(asset_ids or [])[:100],
                    "teams": sorted(team_ids or [])[:100],
                    "changed": _changed_statuses(before, after),
                },
            )
    seconds = (timezone.now() - started).total_seconds()
    return RunResult(controls=len(selected), rows=rows, seconds=seconds, timings=timings)


Tallies = Counter[tuple[int, int, bool, str]]


def _changed_statuses(before: Tallies, after: Tallies) -> dict[str, int]:
    """How many results each status gained (+) or lost (-) in a run, for its audit entry."""
    net: Counter[str] = Counter()
    for (_team, _control, _restricted, status), count in after.items():
        net[status] += count
    for (_team, _control, _restricted, status), count in before.items():
        net[status] -= count
    return {status: change for status, change in sorted(net.items()) if change}


def _subject_tallies(asset_ids: list[int], team_ids: list[int]) -> Tallies:
    """(team, control, restricted, status) counts of some assets' and teams' own assessments."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT team_id, control_id, restricted, status, count(*) FROM controls_assessment"
            " WHERE asset_id = ANY(%s) OR (asset_id IS NULL AND team_id = ANY(%s))"
            " GROUP BY team_id, control_id, restricted, status",
            [asset_ids, team_ids],
        )
        return Counter({(t, c, r, s): n for t, c, r, s, n in cursor.fetchall()})


def _counts_adjust(before: Tallies, after: Tallies) -> None:
    """Move the compliance counts by what a run over a few subjects changed."""
    delta = Counter(after)
    delta.subtract(before)
    changes = [(key, n) for key, n in delta.items() if n]
    if not changes:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_COUNTS_LOCK_KEY])
        for (team, control, restricted, status), n in changes:
            if n < 0:  # a decrease always has its row (and an insert may not carry a negative count)
                cursor.execute(
                    "UPDATE controls_compliancecount SET count = greatest(count + %s, 0) WHERE team_id = %s"
                    " AND control_id = %s AND restricted = %s AND status = %s",
                    [n, team, control, restricted, status],
                )
                continue
            cursor.execute(
                "INSERT INTO controls_compliancecount (team_id, control_id, restricted, status, count)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (team_id, control_id, restricted, status)"
                " DO UPDATE SET count = controls_compliancecount.count + EXCLUDED.count",
                [team, control, restricted, status, n],
            )
        cursor.execute("DELETE FROM controls_compliancecount WHERE count <= 0")


def compliance_counts_rebuild(*, team_ids: list[int] | None) -> None:
    """Recount assessments per (team, control, restricted, status) for some teams, or all."""
    where = "" if team_ids is None else "WHERE team_id = ANY(%(teams)s)"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_COUNTS_LOCK_KEY])
        cursor.execute(f"DELETE FROM controls_compliancecount {where}", {"teams": team_ids})
        cursor.execute(
            "INSERT INTO controls_compliancecount (team_id, control_id, restricted, status, count)"
            f" SELECT team_id, control_id, restricted, status, count(*) FROM controls_assessment {where}"
            " GROUP BY team_id, control_id, restricted, status",
            {"teams": team_ids},
        )


def assessments_for_assets(*, asset_ids: list[int]) -> RunResult:
    """Re-assess every control on some assets (after an import, a status change, a lineage change)."""
    ids = sorted({int(pk) for pk in asset_ids})
    if not ids:
        return RunResult(controls=0, rows=0, seconds=0.0)
    return assessment_run(asset_ids=ids)


def assessment_rerun(*, assessment: Assessment) -> RunResult:
    """Re-assess one control on one subject (after evidence is attached or an exception decided)."""
    if assessment.asset_id:
        return assessment_run(asset_ids=[assessment.asset_id], controls=_with_dependents(assessment.control))
    return assessment_run(team_ids=[assessment.team_id], controls=[assessment.control])


def _with_dependents(control: Control) -> list[Control]:
    dependents = list(Control.objects.active().filter(rule="evidence_fresh").exclude(pk=control.pk))
    return [control, *dependents]


def controls_retired_cleanup(*, control: Control) -> None:
    """Drop the assessments of a retired control, and its compliance counts."""
    teams = list(Assessment.objects.filter(control=control).values_list("team_id", flat=True).distinct())
    Assessment.objects.filter(control=control).delete()
    compliance_counts_rebuild(team_ids=teams)


STATUS_LABELS = dict(AssessmentStatus.choices)
