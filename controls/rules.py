"""The automated rules: each is one set-based query over candidate subjects.

A rule's SQL reads the CTE ``cand`` (``id``, ``team_id``, ``is_restricted``, ``applicable``: the assets,
or for team-level controls the teams, being assessed) and returns one row per subject with
``subject_id``, ``status``, ``reason`` and ``due_on``. The assessment service wraps it in a single
upsert, so assessing every asset for a control is one statement, and so is re-assessing one asset.

Scanning rules judge each import by the kinds of checks it held, recorded on the job when it was imported
(``ImportJob.check_types``, ``findings.checks``): what its findings are and what its format always checks.
So a Trivy file counts as a dependency and a secret scan (it runs both scanners unless told otherwise) and
as infrastructure as code when it holds misconfigurations; SARIF, whatever tool wrote it, counts as
static analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The kinds of checks (findings.checks.CheckType values) each scanning rule accepts. Static analysis
# takes infrastructure-as-code scans too (Checkov), as it did when rules judged by format.
DEPENDENCY_CHECKS = ["dependency"]
SECRET_CHECKS = ["secret"]
STATIC_CHECKS = ["static_analysis", "iac"]
RED_TEAM_CHECKS = ["red_team"]
MODEL_FILE_CHECKS = ["model_file"]


@dataclass(frozen=True)
class Rule:
    key: str
    label: str
    description: str
    sql: str
    params: dict[str, Any] = field(default_factory=dict)
    team_level: bool = False
    # Reads other controls' assessments of the same subject, so it runs after them.
    runs_last: bool = False


def _day(column: str) -> str:
    return f"to_char({column}, 'YYYY-MM-DD')"


def _scan_rule(key: str, label: str, what: str, checks: list[str]) -> Rule:
    sql = f"""
SELECT c.id AS subject_id,
  CASE WHEN j.last_at >= %(since)s THEN 'passing' ELSE 'failing' END AS status,
  CASE WHEN j.last_at IS NULL THEN 'No {what} has been imported for this asset.'
       WHEN j.last_at >= %(since)s THEN 'Last {what} imported on ' || {_day("j.last_at")} || ' (' || j.fmt
            || ', import #' || j.job_id || '), within the ' || %(cadence)s || '-day cadence.'
       ELSE 'Last {what} imported on ' || {_day("j.last_at")} || ' (' || j.fmt || ', import #' || j.job_id
            || '), more than ' || %(cadence)s || ' days ago.'
  END AS reason,
  CASE WHEN j.last_at IS NULL THEN %(today)s ELSE (j.last_at::date + %(cadence)s) END AS due_on
FROM cand c
LEFT JOIN LATERAL (
  SELECT coalesce(i.started_at, i.created_at) AS last_at, i.format AS fmt, i.id AS job_id
  FROM findings_importjob i
  WHERE i.asset_id = c.id AND i.status = 'done' AND i.check_types && %(checks)s::varchar[]
  ORDER BY coalesce(i.started_at, i.created_at) DESC LIMIT 1
) j ON true
"""
    return Rule(
        key, label, f"Passes when a {what} was imported for the asset within the cadence.", sql,
        {"checks": checks},
    )  # fmt: skip


PATCHING = Rule(
    "patching_sla",
    "Patching within SLA",
    "Passes when no open finding on the asset is past its SLA due date; findings past due whose risk was"
    " accepted by an approved exception make it excepted.",
    # One pass over the asset's open and risk-accepted findings.
    """
SELECT c.id AS subject_id,
  CASE WHEN f.late > 0 THEN 'failing' WHEN f.accepted > 0 THEN 'excepted' ELSE 'passing' END AS status,
  CASE WHEN f.late > 0 THEN f.late || ' open finding(s) past their SLA due date, the oldest due '
            || f.oldest || '.'
       WHEN f.accepted > 0 THEN f.accepted || ' finding(s) past their SLA due date are risk accepted'
            || ' by an approved exception.'
       ELSE 'No open finding is past its SLA due date'
            || coalesce('; the next falls due ' || f.next_due, '') || '.'
  END AS reason,
  CASE WHEN f.late > 0 THEN f.oldest ELSE coalesce(f.next_due, %(today)s + %(cadence)s) END AS due_on
FROM cand c
LEFT JOIN (
  SELECT x.asset_id,
         count(*) FILTER (WHERE x.status = 'open' AND x.sla_due < %(today)s) AS late,
         min(x.sla_due) FILTER (WHERE x.status = 'open' AND x.sla_due < %(today)s) AS oldest,
         count(*) FILTER (WHERE x.status = 'risk_accepted' AND x.sla_due < %(today)s) AS accepted,
         min(x.sla_due) FILTER (WHERE x.status = 'open' AND x.sla_due >= %(today)s) AS next_due
  FROM findings_finding x
  WHERE x.status IN ('open', 'risk_accepted') AND x.sla_due IS NOT NULL
        AND x.asset_id IN (SELECT id FROM cand)
  GROUP BY x.asset_id
) f ON f.asset_id = c.id
""",
)

NO_SECRETS = Rule(
    "no_open_secrets",
    "No open secret findings",
    "Passes when no secret finding on the asset is open; risk-accepted ones make it excepted.",
    """
SELECT c.id AS subject_id,
  CASE WHEN s.n > 0 THEN 'failing' WHEN s.accepted > 0 THEN 'excepted' ELSE 'passing' END AS status,
  CASE WHEN s.n > 0 THEN s.n || ' open secret finding(s), e.g. ' || s.example || '.'
       WHEN s.accepted > 0 THEN s.accepted || ' secret finding(s) are risk accepted by an approved exception.'
       ELSE 'No open secret findings.' END AS reason,
  %(today)s + %(cadence)s AS due_on
FROM cand c
LEFT JOIN (
  SELECT f.asset_id, count(*) FILTER (WHERE f.status = 'open') AS n,
         min(f.rule_id) FILTER (WHERE f.status = 'open') AS example,
         count(*) FILTER (WHERE f.status = 'risk_accepted') AS accepted
  FROM findings_finding f
  WHERE f.status IN ('open', 'risk_accepted') AND f.category = 'secret'
        AND f.asset_id IN (SELECT id FROM cand)
  GROUP BY f.asset_id
) s ON s.asset_id = c.id
""",
)


def _policy_rule(key: str, label: str, policy: str, ok: str) -> Rule:
    sql = f"""
SELECT c.id AS subject_id,
  CASE WHEN v.n > 0 THEN 'failing' ELSE 'passing' END AS status,
  CASE WHEN v.n > 0 THEN left(v.details, 600) ELSE '{ok}' END AS reason,
  %(today)s + %(cadence)s AS due_on
FROM cand c
LEFT JOIN (
  SELECT p.asset_id, count(*) AS n, string_agg(p.detail, ' ' ORDER BY p.id) AS details
  FROM assets_policyviolation p
  WHERE p.rule = %(policy)s AND p.resolved_at IS NULL AND p.asset_id IN (SELECT id FROM cand)
  GROUP BY p.asset_id
) v ON v.asset_id = c.id
"""
    return Rule(key, label, f"Passes when the inventory's “{label}” policy check finds nothing.", sql,
                {"policy": policy})  # fmt: skip


CLASSIFIED = Rule(
    "classification_present",
    "Classification present",
    "Passes when the asset declares a classification level.",
    """
SELECT c.id AS subject_id,
  CASE WHEN a.classification_id IS NULL THEN 'failing' ELSE 'passing' END AS status,
  CASE WHEN a.classification_id IS NULL THEN 'The asset declares no classification level.'
       ELSE 'Classified as ' || l.name || '.' END AS reason,
  %(today)s + %(cadence)s AS due_on
FROM cand c JOIN assets_asset a ON a.id = c.id
LEFT JOIN assets_classificationlevel l ON l.id = a.classification_id
""",
)

OWNER = Rule(
    "owner_recorded",
    "Technical owner recorded",
    "Passes when the asset names its technical owner.",
    """
SELECT c.id AS subject_id,
  CASE WHEN a.technical_owner_id IS NULL THEN 'failing' ELSE 'passing' END AS status,
  CASE WHEN a.technical_owner_id IS NULL THEN 'No technical owner is recorded for the asset.'
       ELSE 'Technical owner: ' || u.username || '.' END AS reason,
  %(today)s + %(cadence)s AS due_on
FROM cand c JOIN assets_asset a ON a.id = c.id
LEFT JOIN auth_user u ON u.id = a.technical_owner_id
""",
)

PROVENANCE = Rule(
    "provenance_recorded",
    "Dataset provenance recorded",
    "Passes when the dataset records where its data came from and its retention date has not passed.",
    """
SELECT c.id AS subject_id,
  CASE WHEN p.id IS NULL OR p.source = '' OR p.retention_until < %(today)s THEN 'failing'
       ELSE 'passing' END AS status,
  CASE WHEN p.id IS NULL OR p.source = '' THEN 'No provenance is recorded for this dataset.'
       WHEN p.retention_until < %(today)s THEN 'Retention ended on ' || p.retention_until
            || ': the data should have been deleted or anonymized.'
       ELSE 'Source: ' || left(p.source, 200) || coalesce('; kept until ' || p.retention_until, '') || '.'
  END AS reason,
  coalesce(least(p.retention_until, %(today)s + %(cadence)s), %(today)s + %(cadence)s) AS due_on
FROM cand c LEFT JOIN assets_datasetprovenance p ON p.dataset_id = c.id
""",
)

MFA = Rule(
    "mfa_for_access",
    "MFA for everyone with access",
    "Passes when everyone who can reach the asset (its team and people granted it) has a second factor.",
    """
SELECT c.id AS subject_id,
  CASE WHEN m.n > 0 THEN 'failing' ELSE 'passing' END AS status,
  CASE WHEN m.n > 0 THEN m.n || ' person(s) with access have no confirmed second factor: '
            || left(m.names, 300) || '.'
       ELSE 'Everyone with access has a confirmed second factor.' END AS reason,
  %(today)s + %(cadence)s AS due_on
FROM cand c
LEFT JOIN (
  SELECT x.asset_id, count(DISTINCT x.user_id) AS n,
         string_agg(DISTINCT u.username, ', ') AS names
  FROM (
    SELECT cc.id AS asset_id, ms.user_id FROM cand cc JOIN hygiene_membership ms ON ms.team_id = cc.team_id
    UNION
    SELECT g.content_object_id, g.user_id FROM assets_assetuserobjectpermission g
    WHERE g.content_object_id IN (SELECT id FROM cand)
  ) x
  JOIN auth_user u ON u.id = x.user_id AND u.is_active
  WHERE NOT EXISTS (SELECT 1 FROM otp_totp_totpdevice d WHERE d.user_id = x.user_id AND d.confirmed)
  GROUP BY x.asset_id
) m ON m.asset_id = c.id
""",
)

# Attested controls: the freshest evidence on the subject's own assessment decides.
_EVIDENCE_SQL = """
SELECT c.id AS subject_id,
  CASE WHEN e.valid_until >= %(today)s THEN 'passing' ELSE 'not_assessed' END AS status,
  CASE WHEN e.valid_until IS NULL THEN 'No evidence has been attached yet.'
       WHEN e.valid_until >= %(today)s THEN 'Evidence “' || left(e.title, 120) || '” collected on '
            || e.collected_on || coalesce(' by ' || e.collector, '') || ', valid until '
            || e.valid_until || '.'
       ELSE 'The latest evidence (“' || left(e.title, 120) || '”) expired on ' || e.valid_until
            || ': the control is due to be shown again.'
  END AS reason,
  coalesce(e.valid_until, %(today)s) AS due_on
FROM cand c
LEFT JOIN controls_assessment s ON s.control_id = %(control)s AND {subject}
LEFT JOIN LATERAL (
  SELECT ev.title, ev.collected_on, u.username AS collector,
         coalesce(ev.expires_on, ev.collected_on + %(cadence)s) AS valid_until
  FROM controls_evidence ev LEFT JOIN auth_user u ON u.id = ev.collected_by_id
  WHERE ev.assessment_id = s.id
  ORDER BY coalesce(ev.expires_on, ev.collected_on + %(cadence)s) DESC, ev.id DESC LIMIT 1
) e ON true
"""
EVIDENCE = Rule(
    "evidence",
    "Attested with evidence",
    "Passes while the latest evidence attached by a person is within its expiry (or the cadence).",
    _EVIDENCE_SQL.format(subject="s.asset_id = c.id"),
)
EVIDENCE_TEAM = Rule(
    "evidence",
    "Attested with evidence",
    EVIDENCE.description,
    _EVIDENCE_SQL.format(subject="s.asset_id IS NULL AND s.team_id = c.id"),
    team_level=True,
)

EVIDENCE_FRESH = Rule(
    "evidence_fresh",
    "Evidence fresh",
    "Passes when every attested control that applies to the asset has current evidence.",
    """
SELECT c.id AS subject_id,
  CASE WHEN st.n > 0 THEN 'failing' ELSE 'passing' END AS status,
  CASE WHEN st.n > 0 THEN st.n || ' attested control(s) lack current evidence: ' || left(st.codes, 300) || '.'
       ELSE 'Every attested control that applies has current evidence.' END AS reason,
  coalesce(st.first_due, %(today)s + %(cadence)s) AS due_on
FROM cand c
LEFT JOIN (
  SELECT s.asset_id, count(*) AS n, string_agg(k.code, ', ' ORDER BY k.code) AS codes,
         min(s.due_on) AS first_due
  FROM controls_assessment s JOIN controls_control k ON k.id = s.control_id
  WHERE s.asset_id IN (SELECT id FROM cand) AND k.mode = 'attested' AND k.retired_at IS NULL
        AND s.status = 'not_assessed'
  GROUP BY s.asset_id
) st ON st.asset_id = c.id
""",
    runs_last=True,
)


SAFE_SERIALIZATION = Rule(
    "model_safe_serialization",
    "Models use safe serialization",
    "Passes when the model's files were scanned (ModelScan, picklescan, fickling) and no model-file finding"
    " (unsafe pickle, code in the file) is open; risk-accepted ones make it excepted; never scanned is"
    " not assessed.",
    """
SELECT c.id AS subject_id,
  CASE WHEN f.n > 0 THEN 'failing' WHEN f.accepted > 0 THEN 'excepted'
       WHEN j.last_at IS NULL THEN 'not_assessed' ELSE 'passing' END AS status,
  CASE WHEN f.n > 0 THEN f.n || ' open model-file finding(s), e.g. ' || left(f.example, 200) || '.'
       WHEN f.accepted > 0 THEN f.accepted || ' model-file finding(s) are risk accepted by an approved'
            || ' exception.'
       WHEN j.last_at IS NULL THEN 'No model-file scan has been imported for this model: how its files'
            || ' are serialized is unknown.'
       ELSE 'Last model-file scan imported on ' || """
    + _day("j.last_at")
    + """ || ' (' || j.fmt
            || ', import #' || j.job_id || ') with no open model-file finding.'
  END AS reason,
  CASE WHEN j.last_at IS NULL THEN %(today)s ELSE %(today)s + %(cadence)s END AS due_on
FROM cand c
LEFT JOIN LATERAL (
  SELECT coalesce(i.finished_at, i.created_at) AS last_at, i.format AS fmt, i.id AS job_id
  FROM findings_importjob i
  WHERE i.asset_id = c.id AND i.status = 'done' AND i.check_types && %(checks)s::varchar[]
  ORDER BY coalesce(i.finished_at, i.created_at) DESC LIMIT 1
) j ON true
LEFT JOIN (
  SELECT x.asset_id, count(*) FILTER (WHERE x.status = 'open') AS n,
         min(x.rule_id || ': ' || x.title) FILTER (WHERE x.status = 'open') AS example,
         count(*) FILTER (WHERE x.status = 'risk_accepted') AS accepted
  FROM findings_finding x
  WHERE x.status IN ('open', 'risk_accepted') AND x.category = 'model_file'
        AND x.asset_id IN (SELECT id FROM cand)
  GROUP BY x.asset_id
) f ON f.asset_id = c.id
""",
    {"checks": MODEL_FILE_CHECKS},
)


def _exercise_rule(key: str, label: str, kind: str, what: str) -> Rule:
    """A team-level rule: the team held an exercise of ``kind`` (incidents app) within the cadence."""
    sql = f"""
SELECT c.id AS subject_id,
  CASE WHEN x.last_on + %(cadence)s >= %(today)s THEN 'passing' ELSE 'failing' END AS status,
  CASE WHEN x.last_on IS NULL THEN 'The team has recorded no {what}.'
       WHEN x.last_on + %(cadence)s >= %(today)s THEN 'Last {what} held on ' || x.last_on
            || ' (exercise #' || x.exercise_id || '), within the ' || %(cadence)s || '-day cadence.'
       ELSE 'Last {what} held on ' || x.last_on || ' (exercise #' || x.exercise_id || '), more than '
            || %(cadence)s || ' days ago.'
  END AS reason,
  CASE WHEN x.last_on IS NULL THEN %(today)s ELSE x.last_on + %(cadence)s END AS due_on
FROM cand c
LEFT JOIN LATERAL (
  SELECT e.held_on AS last_on, e.id AS exercise_id FROM incidents_exercise e
  WHERE e.team_id = c.id AND e.kind = %(kind)s AND e.held_on <= %(today)s
  ORDER BY e.held_on DESC, e.id DESC LIMIT 1
) x ON true
"""
    return Rule(
        key, label, f"Passes when the team held a {what} (recorded in incidents) within the cadence.", sql,
        {"kind": kind}, team_level=True,
    )  # fmt: skip


RULES: dict[str, Rule] = {
    rule.key: rule
    for rule in [
        _scan_rule("scan_dependencies", "Dependency scanning in place", "dependency scan",
                   DEPENDENCY_CHECKS),
        _scan_rule("scan_secrets", "Secret scanning in place", "secret scan", SECRET_CHECKS),
        _scan_rule("scan_static", "Static analysis in place", "static-analysis scan", STATIC_CHECKS),
        PATCHING,
        NO_SECRETS,
        _policy_rule("environment_segregation", "Environment segregation", "environment_segregation",
                     "No production asset depends on a development one here."),
        _policy_rule("handling_rules", "Handling matches the data", "weaker_handling",
                     "Handling rules are at least as strict as the data flowing in."),
        _policy_rule("retention", "Retention respected", "retention_expired",
                     "No retention date has passed."),
        CLASSIFIED,
        OWNER,
        PROVENANCE,
        MFA,
        SAFE_SERIALIZATION,
        _scan_rule("model_red_teamed", "Models red-teamed within cadence", "red-team run (garak, promptfoo)",
                   RED_TEAM_CHECKS),
        _exercise_rule("exercise_tabletop", "Tabletop exercise within cadence", "tabletop",
                       "tabletop exercise"),
        _exercise_rule("exercise_dr_drill", "Disaster-recovery drill within cadence", "dr_drill",
                       "disaster-recovery drill"),
        EVIDENCE_FRESH,
    ]
}  # fmt: skip
RULE_CHOICES = [(key, rule.label) for key, rule in RULES.items()]


def rule_for(key: str, *, team_level: bool) -> Rule:
    """The rule behind a control: its automated rule, or evidence for attested controls."""
    if key == "evidence" or key not in RULES:
        return EVIDENCE_TEAM if team_level else EVIDENCE
    return RULES[key]
