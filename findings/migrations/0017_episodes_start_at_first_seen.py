from django.db import migrations

# A sighting dated before the finding was first seen (an older scan file imported after a newer one)
# counts as happening when the finding was first seen: nothing happens to a finding before it exists.
# So every episode opens at or after first_seen and closes after it opens, and "patched by a day"
# implies "first seen before that day", which lets the drill-down lists read findings in first-seen order.
_EDGES = """
WITH ev AS (
    SELECT f.id AS fid, f.first_seen AS at, 'open'::varchar AS st, NULL::date AS due, 0::bigint AS seq
      FROM findings_finding f {finding_filter}
    UNION ALL
    SELECT s.finding_id, GREATEST(s.occurred_at, f.first_seen), s.status, s.sla_due, s.id
      FROM findings_findingsighting s JOIN findings_finding f ON f.id = s.finding_id
     WHERE s.status <> '' {sighting_filter}
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


def _refresh(edges: str) -> str:
    every = edges.format(finding_filter="", sighting_filter="")
    some = edges.format(finding_filter="WHERE f.id = ANY(ids)", sighting_filter="AND s.finding_id = ANY(ids)")
    return f"""
CREATE OR REPLACE FUNCTION findings_refresh_episodes(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF ids IS NULL THEN
        DELETE FROM findings_findingepisode;
        {every}
    ELSIF cardinality(ids) > 0 THEN
        DELETE FROM findings_findingepisode WHERE finding_id = ANY(ids);
        {some}
    END IF;
END;
$$;
SELECT findings_refresh_episodes(NULL);
"""


_PREVIOUS_EDGES = _EDGES.replace("GREATEST(s.occurred_at, f.first_seen)", "s.occurred_at").replace(
    " JOIN findings_finding f ON f.id = s.finding_id\n     WHERE", " WHERE"
)


class Migration(migrations.Migration):
    dependencies = [("findings", "0016_importjob_newest_first")]

    operations = [migrations.RunSQL(_refresh(_EDGES), _refresh(_PREVIOUS_EDGES))]
