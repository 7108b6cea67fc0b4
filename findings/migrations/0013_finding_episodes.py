import django.db.models.deletion
from django.db import migrations, models

# A finding's episodes (the stretches during which it was open) derive from its first_seen and its
# sightings. The metrics count them per day and the drill-down lists filter by them; rebuilding them from
# the sightings with window functions per day or per request cost minutes. This table keeps them, and
# statement-level triggers keep it right whichever path writes the history (the import's COPY, bulk
# triage, admin, SQL), set-based: one refresh of the touched findings per statement, in its transaction.
_EDGES = """
WITH ev AS (
    SELECT f.id AS fid, f.first_seen AS at, 'open'::varchar AS st, NULL::date AS due, 0::bigint AS seq
      FROM findings_finding f {finding_filter}
    UNION ALL
    SELECT s.finding_id, s.occurred_at, s.status, s.sla_due, s.id
      FROM findings_findingsighting s WHERE s.status <> '' {sighting_filter}
), marked AS (
    SELECT fid, at, st, due, seq, st = 'open' AS is_open,
           lag(st = 'open') OVER (PARTITION BY fid ORDER BY at, seq) AS was_open
      FROM ev
), edges AS (
    SELECT fid, at, is_open,
           lead(at) OVER w AS next_at, lead(st) OVER w AS next_st, lead(due) OVER w AS next_due
      FROM marked WHERE was_open IS DISTINCT FROM is_open
    WINDOW w AS (PARTITION BY fid ORDER BY at, seq)
)
INSERT INTO findings_findingepisode (finding_id, opened_at, closed_at, closed_as, closing_sla_due, is_first)
SELECT e.fid, e.at, e.next_at, COALESCE(e.next_st, ''), e.next_due, e.at = f.first_seen
  FROM edges e JOIN findings_finding f ON f.id = e.fid
 WHERE e.is_open;
"""
_ALL = _EDGES.format(finding_filter="", sighting_filter="")
_SOME = _EDGES.format(finding_filter="WHERE f.id = ANY(ids)", sighting_filter="AND s.finding_id = ANY(ids)")

REFRESH = f"""
CREATE OR REPLACE FUNCTION findings_refresh_episodes(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF ids IS NULL THEN
        DELETE FROM findings_findingepisode;
        {_ALL}
    ELSIF cardinality(ids) > 0 THEN
        DELETE FROM findings_findingepisode WHERE finding_id = ANY(ids);
        {_SOME}
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION findings_episodes_follow_sightings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM findings_refresh_episodes(ARRAY(SELECT DISTINCT finding_id FROM changed));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM findings_refresh_episodes(ARRAY(SELECT DISTINCT finding_id FROM gone));
    ELSE
        PERFORM findings_refresh_episodes(ARRAY(
            SELECT finding_id FROM changed UNION SELECT finding_id FROM gone
        ));
    END IF;
    RETURN NULL;
END;
$$;

-- Findings: a new one opens its first episode (one insert per statement, the import's included); it
-- has no sightings yet (they reference it), so nothing needs rebuilding.
CREATE OR REPLACE FUNCTION findings_episodes_follow_findings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO findings_findingepisode (finding_id, opened_at, closed_at, closed_as, closing_sla_due, is_first)
        SELECT id, first_seen, NULL, '', NULL, true FROM changed;
    ELSE
        DELETE FROM findings_findingepisode WHERE finding_id IN (SELECT id FROM gone);
    END IF;
    RETURN NULL;
END;
$$;

-- Only a changed first_seen changes a finding's history, and nothing but a correction changes it: a
-- row trigger on that column leaves the import's and triage's bulk updates of other columns alone.
CREATE OR REPLACE FUNCTION findings_episodes_follow_first_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM findings_refresh_episodes(ARRAY[NEW.id]);
    RETURN NULL;
END;
$$;

CREATE TRIGGER findings_episodes_sighting_insert AFTER INSERT ON findings_findingsighting
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION findings_episodes_follow_sightings();
CREATE TRIGGER findings_episodes_sighting_update AFTER UPDATE ON findings_findingsighting
    REFERENCING NEW TABLE AS changed OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION findings_episodes_follow_sightings();
CREATE TRIGGER findings_episodes_sighting_delete AFTER DELETE ON findings_findingsighting
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION findings_episodes_follow_sightings();
CREATE TRIGGER findings_episodes_finding_insert AFTER INSERT ON findings_finding
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION findings_episodes_follow_findings();
CREATE TRIGGER findings_episodes_finding_update AFTER UPDATE OF first_seen ON findings_finding
    FOR EACH ROW WHEN (OLD.first_seen IS DISTINCT FROM NEW.first_seen)
    EXECUTE FUNCTION findings_episodes_follow_first_seen();
CREATE TRIGGER findings_episodes_finding_delete AFTER DELETE ON findings_finding
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION findings_episodes_follow_findings();

SELECT findings_refresh_episodes(NULL);
"""
UNDO = """
DROP TRIGGER IF EXISTS findings_episodes_sighting_insert ON findings_findingsighting;
DROP TRIGGER IF EXISTS findings_episodes_sighting_update ON findings_findingsighting;
DROP TRIGGER IF EXISTS findings_episodes_sighting_delete ON findings_findingsighting;
DROP TRIGGER IF EXISTS findings_episodes_finding_insert ON findings_finding;
DROP TRIGGER IF EXISTS findings_episodes_finding_update ON findings_finding;
DROP TRIGGER IF EXISTS findings_episodes_finding_delete ON findings_finding;
DROP FUNCTION IF EXISTS findings_episodes_follow_first_seen();
DROP FUNCTION IF EXISTS findings_episodes_follow_findings();
DROP FUNCTION IF EXISTS findings_episodes_follow_sightings();
DROP FUNCTION IF EXISTS findings_refresh_episodes(bigint[]);
"""
class Migration(migrations.Migration):
    dependencies = [("findings", "0012_import_scan_time_checks_episode_history")]

    operations = [
        migrations.CreateModel(
            name="FindingEpisode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("opened_at", models.DateTimeField()),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "closed_as",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("open", "Open"),
                            ("mitigated", "Mitigated"),
                            ("risk_accepted", "Risk accepted"),
                            ("false_positive", "False positive"),
                        ],
                        max_length=16,
                    ),
                ),
                ("closing_sla_due", models.DateField(blank=True, null=True)),
                (
                    "is_first",
                    models.BooleanField(help_text="Opened when the finding was first seen, not by a reopen."),
                ),
                (
                    "finding",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="episodes",
                        to="findings.finding",
                    ),
                ),
            ],
            options={
                "ordering": ["finding", "opened_at"],
                "indexes": [
                    models.Index(fields=["finding", "opened_at"], name="episode_finding_opened"),
                    models.Index(
                        condition=models.Q(("closed_at__isnull", True)), fields=["opened_at"], name="episode_open"
                    ),
                    models.Index(fields=["closed_at"], name="episode_closed"),
                ],
            },
        ),
        migrations.RunSQL(REFRESH, UNDO),
    ]
