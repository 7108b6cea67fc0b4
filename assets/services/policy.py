"""Policy checks on the lineage graph, computed set-based in SQL.

Each run upserts the violations it finds for the assets in scope and marks resolved the rows it no
longer finds (``resolved_at``), so current violations keep their first detection time and past ones
stay countable for the metrics. A violation that comes back after being resolved is a new row.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

# The four rules; each yields (asset_id, rule, detail, related_asset_id) for the assets in scope.
FOUND_SQL = """
SELECT a.id AS asset_id, 'environment_segregation' AS rule,
       'Production asset takes data from a development asset.' AS detail, p.id AS related_id
  FROM assets_asset a
  JOIN assets_lineageedge e ON e.target_id = a.id
  JOIN assets_asset p ON p.id = e.source_id
 WHERE a.environment = 'production' AND p.environment = 'development'
   AND a.lifecycle = 'active' AND p.lifecycle = 'active' AND {scope}
UNION
SELECT a.id, 'weaker_handling',
       'Declared ' || d.name || ' but receives ' || f.name || ' data; missing: '
       || concat_ws(', ',
            CASE WHEN d.rank < f.rank THEN 'a level of at least ' || f.name END,
            CASE WHEN f.encryption_at_rest AND NOT d.encryption_at_rest THEN 'encryption at rest' END,
            CASE WHEN f.encryption_in_transit AND NOT d.encryption_in_transit
                 THEN 'encryption in transit' END,
            CASE WHEN f.mfa_required AND NOT d.mfa_required THEN 'MFA for access' END,
            CASE WHEN f.anonymization_required AND NOT d.anonymization_required THEN 'anonymization' END,
            CASE WHEN f.max_retention_days IS NOT NULL
                  AND (d.max_retention_days IS NULL OR d.max_retention_days > f.max_retention_days)
                 THEN 'retention of at most ' || f.max_retention_days || ' days' END) || '.',
       a.effective_source_id
  FROM assets_asset a
  JOIN assets_classificationlevel d ON d.id = a.classification_id
  JOIN assets_classificationlevel f ON f.id = a.effective_classification_id
 WHERE a.effective_source_id IS NOT NULL AND a.lifecycle = 'active' AND {scope}
   AND (d.rank < f.rank
        OR (f.encryption_at_rest AND NOT d.encryption_at_rest)
        OR (f.encryption_in_transit AND NOT d.encryption_in_transit)
        OR (f.mfa_required AND NOT d.mfa_required)
        OR (f.anonymization_required AND NOT d.anonymization_required)
        OR (f.max_retention_days IS NOT NULL
            AND (d.max_retention_days IS NULL OR d.max_retention_days > f.max_retention_days)))
UNION
SELECT a.id, 'retention_expired',
       'Retention ended on ' || to_char(pr.retention_until, 'YYYY-MM-DD')
       || '; delete or anonymize the data, or record a new legal basis.', NULL
  FROM assets_asset a JOIN assets_datasetprovenance pr ON pr.dataset_id = a.id
 WHERE a.kind = 'dataset' AND a.lifecycle = 'active' AND pr.retention_until < %(today)s AND {scope}
UNION
SELECT a.id, 'unclassified', 'No classification level is declared.', NULL
  FROM assets_asset a
 WHERE a.classification_id IS NULL AND a.lifecycle = 'active' AND {scope}
"""

APPLY_SQL = """
WITH found AS ({found}),
upserted AS (
    INSERT INTO assets_policyviolation (asset_id, rule, detail, related_asset_id, detected_at)
    SELECT asset_id, rule, detail, related_id, %(now)s FROM found
    ON CONFLICT (asset_id, rule, related_asset_id) WHERE resolved_at IS NULL
    DO UPDATE SET detail = EXCLUDED.detail
    RETURNING id
)
UPDATE assets_policyviolation v SET resolved_at = %(now)s
 WHERE {violation_scope} AND v.resolved_at IS NULL AND v.id NOT IN (SELECT id FROM upserted)
"""


@transaction.atomic
def policy_check(*, asset_ids: list[int] | None) -> int:
    """Re-run every rule for ``asset_ids`` (None: all assets); return how many violations hold now."""
    if asset_ids is not None and not asset_ids:
        return 0
    if asset_ids is None:
        scope, violation_scope = "true", "true"
    else:
        scope, violation_scope = "a.id = ANY(%(ids)s)", "v.asset_id = ANY(%(ids)s)"
    sql = APPLY_SQL.format(found=FOUND_SQL.format(scope=scope), violation_scope=violation_scope)
    params = {"ids": asset_ids, "today": timezone.localdate(), "now": timezone.now()}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if asset_ids is None:
            cursor.execute("SELECT count(*) FROM assets_policyviolation WHERE resolved_at IS NULL")
        else:
            cursor.execute(
                "SELECT count(*) FROM assets_policyviolation"
                " WHERE resolved_at IS NULL AND asset_id = ANY(%s)",
                [asset_ids],
            )
        return int(cursor.fetchone()[0])
